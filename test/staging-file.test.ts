import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { resolve } from 'node:path';
import { File } from '../src/staging/file.ts';
import { decodeValue, encodeValue } from '../src/wire/codec.ts';

test('File - zip: members, written without //', () => {
  const file = new File('zip:/data/runs.zip/inner/table.csv');
  assert.is(file.scheme, 'zip');
  assert.is(file.netloc, '');
  assert.is(file.path, '/data/runs.zip/inner/table.csv');
  assert.is(file.filename, 'table.csv');
  assert.is(file.url, 'zip:/data/runs.zip/inner/table.csv');
  assert.is(file.checksum, undefined);
});

test('File - globus://ENDPOINT/path keeps the endpoint as netloc', () => {
  const file = new File('globus://ddb59aef-6d04-11e5-ba46-22000b92c6ec/~/data/in.txt');
  assert.is(file.scheme, 'globus');
  assert.is(file.netloc, 'ddb59aef-6d04-11e5-ba46-22000b92c6ec');
  assert.is(file.path, '/~/data/in.txt');
  assert.is(file.filename, 'in.txt');
});

test('File - sftp and rsync URLs give user, host and port', () => {
  const sftp = new File('sftp://alice@login.cluster.org:2222/home/alice/a%20b.txt');
  assert.is(sftp.scheme, 'sftp');
  assert.is(sftp.netloc, 'login.cluster.org:2222');
  assert.is(sftp.username, 'alice');
  assert.is(sftp.hostname, 'login.cluster.org');
  assert.is(sftp.port, 2222);
  assert.is(sftp.path, '/home/alice/a b.txt');
  assert.is(sftp.filename, 'a b.txt');
  const rsync = new File('rsync://host.org/x/y.dat');
  assert.is(rsync.scheme, 'rsync');
  assert.is(rsync.username, undefined);
  assert.is(rsync.port, undefined);
});

test('File - a #sha256= (or #md5=) fragment is the checksum staging checks; the path leaves it out', () => {
  const file = new File('https://example.org/x.bin#sha256=ABCDEF01');
  assert.equal(file.checksum, { algorithm: 'sha256', digest: 'abcdef01' });
  assert.is(file.path, '/x.bin');
  assert.equal(new File('ftp://h/y#md5=00ff').checksum, { algorithm: 'md5', digest: '00ff' });
  assert.is(new File('https://h/y#section').checksum, undefined);
});

test('File - a name with a colon but no // stays a local path', () => {
  const file = new File('c:notes.txt');
  assert.is(file.scheme, 'file');
  assert.is(file.path, 'c:notes.txt');
  assert.is(file.url, `file://${resolve('c:notes.txt')}`);
});

test('File - every scheme survives the trip to a worker', () => {
  const urls = ['zip:/a/b.zip/c', 'globus://ep/p', 'sftp://u@h:22/p', 'rsync://h/p', 'ftp://h/p', 'https://h/p#sha256=00'];
  const back = decodeValue(structuredClone(encodeValue(urls.map((u) => new File(u))))) as File[];
  assert.equal(back.map((f) => f.url), urls);
  assert.equal(back.map((f) => f.scheme), ['zip', 'globus', 'sftp', 'rsync', 'ftp', 'https']);
});

test.run();
