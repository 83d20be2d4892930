/** Types of build-names.mjs (for the tests). */
export function dropRedundantNames(code: string): { code: string; dropped: number };
export function dropRedundantNamesIn(dir: string): number;
