import { seedFixture, startKeyfob, type Fixture, type StartOptions, type TestKeyfob } from './keyfob.js';
import { WebAgent } from './web-agent.js';

/** The usual start of a test file: a server, a user with two apps, and that user signed in on the web origin. */
export async function startSignedIn(
  opts: StartOptions = {},
  fixture: Parameters<typeof seedFixture>[1] = {},
): Promise<{ kf: TestKeyfob; fx: Fixture; agent: WebAgent }> {
  const kf = await startKeyfob(opts);
  const fx = await seedFixture(kf, fixture);
  const agent = new WebAgent(kf.webUrl);
  await agent.signIn(fx.username, fx.password);
  return { kf, fx, agent };
}
