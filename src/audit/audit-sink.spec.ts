import { mkdtempSync, readFileSync, readdirSync, rmSync, statSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { RotatingFileAuditSink } from './audit-sink';

/** Real files in a folder of the test's own. */
describe(RotatingFileAuditSink.name, () => {
  let dir: string;
  beforeEach(() => {
    dir = mkdtempSync(join(tmpdir(), 'audit-sink-'));
  });
  afterEach(() => rmSync(dir, { recursive: true, force: true }));

  const lines = (file: string) => readFileSync(file, 'utf8').split('\n').slice(0, -1);
  const line = (i: number) => JSON.stringify({ n: i, pad: 'x'.repeat(10) });

  it('rotates by size: never past maxBytes, no line split, the newest lines kept in order over the current file and `keep` older ones, the oldest deleted', () => {
    const path = join(dir, 'audit.jsonl');
    const sut = new RotatingFileAuditSink(path, 100, 3);
    sut.open();
    for (let i = 0; i < 40; i++) sut.write(line(i));
    sut.close();

    expect(readdirSync(dir).sort()).toEqual(['audit.jsonl', 'audit.jsonl.1', 'audit.jsonl.2', 'audit.jsonl.3']);
    const files = [`${path}.3`, `${path}.2`, `${path}.1`, path];
    for (const f of files) expect(statSync(f).size).toBeLessThanOrEqual(100);
    const kept = files.flatMap(lines).map((l) => (JSON.parse(l) as { n: number }).n);
    // Contiguous and in order, ending with the last line written; everything older is gone.
    expect(kept).toEqual(Array.from({ length: kept.length }, (_, i) => 40 - kept.length + i));
    expect(kept.length).toBeGreaterThanOrEqual(3 * 3);
    expect(kept).not.toContain(0);
  });

  it('appends to what a previous run left, counting its size toward the next rotation', () => {
    const path = join(dir, 'audit.jsonl');
    writeFileSync(path, `${line(-1)}\n`.repeat(3));
    const before = statSync(path).size;
    const sut = new RotatingFileAuditSink(path, before + 10, 2);
    sut.open();
    sut.write(line(0));
    sut.close();
    expect(lines(`${path}.1`)).toEqual([line(-1), line(-1), line(-1)]);
    expect(lines(path)).toEqual([line(0)]);
  });

  it('gives a line longer than maxBytes a file of its own rather than splitting it', () => {
    const path = join(dir, 'audit.jsonl');
    const sut = new RotatingFileAuditSink(path, 50, 5);
    sut.open();
    sut.write('short');
    const long = JSON.stringify({ long: 'y'.repeat(120) });
    sut.write(long);
    sut.write('after');
    sut.close();
    expect(lines(`${path}.2`)).toEqual(['short']);
    expect(lines(`${path}.1`)).toEqual([long]);
    expect(lines(path)).toEqual(['after']);
  });

  it('creates its folder 0700 and the file 0600 (the trail names principals and keeps commands)', () => {
    const path = join(dir, 'new', 'folder', 'audit.jsonl');
    const sut = new RotatingFileAuditSink(path, 1_000, 1);
    sut.open();
    sut.write('{}');
    sut.close();
    expect(statSync(join(dir, 'new', 'folder')).mode & 0o777).toBe(0o700);
    expect(statSync(path).mode & 0o777).toBe(0o600);
  });

  it('says which file it cannot open and what to do; after close it refuses to write', () => {
    const blocker = join(dir, 'a-file');
    writeFileSync(blocker, '');
    expect(() => new RotatingFileAuditSink(join(blocker, 'audit.jsonl'), 1_000, 1).open()).toThrow(
      new RegExp(`^AUDIT_LOG ${blocker}/audit\\.jsonl: cannot open the audit file \\(.*\\); give the server a folder it may write, or set AUDIT_LOG=stdout\\.$`),
    );
    const sut = new RotatingFileAuditSink(join(dir, 'audit.jsonl'), 1_000, 1);
    sut.open();
    sut.close();
    expect(() => sut.write('{}')).toThrow(/closed/);
  });
});
