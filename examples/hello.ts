/**
 * Hello world: calling an app returns a future at once; awaiting it gives the result.
 *
 * From the Parsl blog post and talk:
 *   @python_app
 *   def hello():
 *       return 'Hello World!'
 *   print(hello().result())
 *
 * Run: node --import tsx examples/hello.ts   (soon: npx parsl-ts run examples/hello.ts)
 */
import { app, load } from '../src/index.ts';

// The default config: a ThreadPoolExecutor with one worker thread per core.
// `await using` clears the DataFlowKernel when the script ends.
await using _dfk = load();

const hello = app(async () => {
  await new Promise((resolve) => setTimeout(resolve, 1000)); // the blog's time.sleep(5), shorter
  return 'Hello World!';
});

const appFuture = hello();
// The call returned at once: the task is still running.
console.log(`Done: ${appFuture.done()}`);
// result() (or plain `await appFuture`) waits for the task to finish.
console.log(`Result: ${await appFuture.result()}`);
console.log(`Done: ${appFuture.done()}`);
