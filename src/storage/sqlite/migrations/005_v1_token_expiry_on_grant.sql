-- Version 5: a V1 token's expiry is kept on its grant (docs/decisions/0100).
-- A V1 grant has one token, and each refresh of the grant (a new code, PKCE or PIN
-- authorization, §5.4) moved that token's expires_at with it: a second write on every
-- code exchange. From this version a refresh writes the expiry here, in the grant's own
-- UPDATE, and a token lookup reads COALESCE(grants.token_expires_at, access_tokens.expires_at).
-- NULL (every grant before this version, every grant not refreshed since it was made, and
-- every grant of the standard dialect, whose tokens each have their own life): the token's own.
ALTER TABLE grants ADD COLUMN token_expires_at INTEGER;
