import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { inspect } from 'node:util';
import { resolve } from 'node:path';
import { File, ConfigError } from '../src/index.ts';
import { decodeValue, encodeValue } from '../src/wire/codec.ts';

test('File - a relative path keeps its form and gets a file:// URL', () => {
  const file = new File('unsorted_numbers.txt');
  assert.is(file.scheme, 'file');
  assert.is(file.filepath, 'unsorted_numbers.txt');
  assert.is(file.filename, 'unsorted_numbers.txt');
  assert.is(file.url, `file://${resolve('unsorted_numbers.txt')}`);
  assert.is(String(file), 'unsorted_numbers.txt', 'a File interpolates to its path in a command line');
  assert.is(inspect(file), `<File ${file.url}>`);
});

test('File - file:// URLs and absolute paths', () => {
  const file = new File('file:///data/run%201/out.csv');
  assert.is(file.scheme, 'file');
  assert.is(file.filepath, '/data/run 1/out.csv');
  assert.is(file.filename, 'out.csv');
  assert.is(file.netloc, '');
  assert.is(new File('/abs/path.txt').url, 'file:///abs/path.txt');
  assert.is(new File(new URL('file:///x/y.txt')).filepath, '/x/y.txt');
});

test('File - remote URLs keep scheme, host and path; localPath wins once staged', () => {
  const file = new File('https://example.org/data/sample.fastq');
  assert.is(file.scheme, 'https');
  assert.is(file.netloc, 'example.org');
  assert.is(file.path, '/data/sample.fastq');
  assert.is(file.filename, 'sample.fastq');
  file.localPath = '/scratch/sample.fastq';
  assert.is(file.filepath, '/scratch/sample.fastq');
});

test('File - survives the trip to a worker as a File', () => {
  const file = new File('https://example.org/a.txt');
  file.localPath = '/tmp/a.txt';
  const back = decodeValue(structuredClone(encodeValue([file]))) as File[];
  assert.instance(back[0], File);
  assert.is(back[0]!.url, file.url);
  assert.is(back[0]!.filepath, '/tmp/a.txt');
});

test('File - an empty name is refused', () => {
  assert.throws(() => new File(''), (e: unknown) => e instanceof ConfigError);
});

test.run();
