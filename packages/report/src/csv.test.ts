import { describe, expect, it } from 'vitest';
import { parseCsv } from './csv';

describe('parseCsv', () => {
  it('reads quoted fields with commas, doubled quotes and newlines', () => {
    expect(parseCsv('id,note\r\nt1,"a, ""b""\nc"\nt2,\n')).toEqual([
      ['id', 'note'],
      ['t1', 'a, "b"\nc'],
      ['t2', ''],
    ]);
  });

  it('keeps a last row without a newline', () => {
    expect(parseCsv('a,b\n1,2')).toEqual([
      ['a', 'b'],
      ['1', '2'],
    ]);
  });
});
