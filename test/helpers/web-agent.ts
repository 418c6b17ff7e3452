/**
 * A tiny browser stand-in for tests: keeps cookies, follows nothing on its own,
 * reads CSRF tokens out of pages and submits forms. Enough to sign in and answer a
 * consent page over real HTTP without a browser.
 */
export class WebAgent {
  private readonly cookies = new Map<string, string>();

  constructor(readonly webUrl: string) {}

  private absorb(res: Response): void {
    for (const line of res.headers.getSetCookie()) {
      const [pair] = line.split(';', 1);
      const eq = pair!.indexOf('=');
      const name = pair!.slice(0, eq).trim();
      const value = pair!.slice(eq + 1).trim();
      if (/max-age=0|expires=thu, 01 jan 1970/i.test(line) || value === '') this.cookies.delete(name);
      else this.cookies.set(name, value);
    }
  }

  cookieHeader(): string {
    return [...this.cookies].map(([k, v]) => `${k}=${v}`).join('; ');
  }

  hasCookie(name: string): boolean {
    return this.cookies.has(name);
  }

  async get(pathOrUrl: string, headers: Record<string, string> = {}): Promise<Response> {
    const url = pathOrUrl.startsWith('http') ? pathOrUrl : `${this.webUrl}${pathOrUrl}`;
    const res = await fetch(url, { redirect: 'manual', headers: { cookie: this.cookieHeader(), ...headers } });
    this.absorb(res);
    return res;
  }

  async post(pathOrUrl: string, form: Record<string, string>, headers: Record<string, string> = {}): Promise<Response> {
    const url = pathOrUrl.startsWith('http') ? pathOrUrl : `${this.webUrl}${pathOrUrl}`;
    const res = await fetch(url, {
      method: 'POST',
      redirect: 'manual',
      headers: { cookie: this.cookieHeader(), 'content-type': 'application/x-www-form-urlencoded', ...headers },
      body: new URLSearchParams(form).toString(),
    });
    this.absorb(res);
    return res;
  }

  /** GETs a page and returns its HTML and the CSRF token of its first form. */
  async page(pathOrUrl: string): Promise<{ res: Response; html: string; csrf: string }> {
    const res = await this.get(pathOrUrl);
    const html = await res.text();
    return { res, html, csrf: csrfOf(html) };
  }

  async signIn(username: string, password: string): Promise<void> {
    const { csrf } = await this.page('/signin');
    const res = await this.post('/signin', { _csrf: csrf, username, password, next: '/' });
    if (res.status !== 303) throw new Error(`sign-in failed with HTTP ${res.status}`);
  }

  /**
   * Opens an authorize URL (signed in) and answers the consent form.
   * Returns the response to the decision POST (a 302 to the client, or the code page).
   */
  async answerConsent(authorizeUrl: string, decision: 'approve' | 'deny'): Promise<Response> {
    const { res, html } = await this.page(authorizeUrl);
    if (res.status !== 200) throw new Error(`consent page answered HTTP ${res.status}: ${html.slice(0, 300)}`);
    const form = hiddenFields(html);
    return this.post('/oauth/authorize', { ...form, decision });
  }
}

export function csrfOf(html: string): string {
  const m = /name="_csrf" value="([^"]*)"/.exec(html);
  return m ? decodeEntities(m[1]!) : '';
}

export function decodeEntities(s: string): string {
  return s
    .replace(/&quot;/g, '"')
    .replace(/&#39;/g, "'")
    .replace(/&lt;/g, '<')
    .replace(/&gt;/g, '>')
    .replace(/&amp;/g, '&');
}

/** Every hidden input of the first POST form in a page. */
export function hiddenFields(html: string): Record<string, string> {
  const formStart = html.indexOf('<form method="post" action="/oauth/authorize"');
  const scope = formStart === -1 ? html : html.slice(formStart, html.indexOf('</form>', formStart));
  const out: Record<string, string> = {};
  for (const m of scope.matchAll(/<input type="hidden" name="([^"]+)" value="([^"]*)">/g)) out[decodeEntities(m[1]!)] = decodeEntities(m[2]!);
  return out;
}

/** The code and state a client's callback would receive, from a redirect Location. */
export function callbackParams(res: Response): URLSearchParams {
  const loc = res.headers.get('location');
  if (!loc) throw new Error(`expected a redirect, got HTTP ${res.status}`);
  return new URL(loc).searchParams;
}
