/**
 * The frame of a test file that runs on two firewalled HTEX sites, `a` and `b`: the network and
 * both sites start once before the file's tests and go after them; after each test, the tasks
 * still out are waited for and the kernel cleared (unless the test cleared its own). Where
 * network namespaces cannot be made (not root), the file's tests are skipped and say why.
 */
import type { Test } from 'uvu';
import { clear, dfk, waitForCurrentTasks } from '../../src/index.ts';
import { deadline, tempDir } from '../helpers.ts';
import { siteNetworkOrSkip } from './federation.ts';
import { startHtexSite, stopHtexSite, type HtexSite } from './htex-sites.ts';
import type { SiteNetwork } from './netns.ts';

export interface TwoSites {
  net: SiteNetwork;
  a: HtexSite;
  b: HtexSite;
}

export interface TwoSiteSuite {
  /** `test`, or `test.skip` when the sites cannot be made here. */
  it: (name: string, handler: () => Promise<void> | void) => void;
  /** The file's working directory (run directories, marker files), removed after its tests. */
  work: { path: string; remove: () => void };
}

/**
 * Hooks `test` up with two sites; `ready` receives them once they are up (before the first
 * test), `beforeClear` runs after each test before its kernel is cleared (e.g. to bring a cut
 * link back up).
 */
export async function twoSiteSuite(
  name: string,
  test: Test,
  ready: (sites: TwoSites) => void,
  beforeClear?: (sites: TwoSites) => void,
): Promise<TwoSiteSuite> {
  const network = await siteNetworkOrSkip();
  const work = tempDir();
  if (typeof network === 'string') {
    console.log(`SKIPPED ${name}: ${network}`);
    return { it: test.skip, work };
  }
  let sites: TwoSites | undefined;
  test.before(async () => {
    sites = { net: network, a: await startHtexSite(network, 'a', work.path), b: await startHtexSite(network, 'b', work.path) };
    ready(sites);
  });
  test.after.each(async () => {
    if (sites) beforeClear?.(sites);
    try {
      dfk();
    } catch {
      return; // the test cleared its own kernel
    }
    try {
      await deadline(waitForCurrentTasks(), 60_000, 'outstanding tasks');
    } finally {
      await clear();
    }
  });
  test.after(async () => {
    if (sites) {
      await stopHtexSite(sites.a);
      await stopHtexSite(sites.b);
    }
    await network.destroy();
    work.remove();
  });
  return { it: test, work };
}
