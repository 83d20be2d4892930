/**
 * The staging tests' HTTP server (test/support/http-server.ts) in a process of its own, so that
 * serving does not share an event loop with the client under measurement. Prints its port on
 * stdout; exits when stdin closes.
 */
import { TestHttpServer } from '../../test/support/http-server.ts';

const server = await TestHttpServer.start();
// The bench issues thousands of requests: recording each one is not needed.
server.requests.push = () => 0;
process.stdout.write(`${server.port}\n`);
process.stdin.resume();
process.stdin.once('end', () => void server.stop().then(() => process.exit(0)));
