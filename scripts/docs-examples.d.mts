// Types of scripts/docs-examples.mjs for the test that imports it.
export interface DocsExample {
  /** The Markdown file, relative to the repository root. */
  file: string;
  /** The line of the opening fence (1-based). */
  line: number;
  /** False for a block marked `no-run`: type-checked only. */
  run: boolean;
  code: string;
}
export function markdownFiles(root: string): string[];
export function examplesIn(root: string, file: string): DocsExample[];
export function allExamples(root: string): DocsExample[];
export function exampleFileName(example: DocsExample): string;
export function runnableSource(root: string, example: DocsExample): string;
