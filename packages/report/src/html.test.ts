import { describe, expect, it } from 'vitest';
import { escapeHtml, imageDataUri, jsonForScript, scriptSource } from './html';

describe('escapeHtml', () => {
  it('escapes the five characters that can change markup', () => {
    expect(escapeHtml(`<a href="x" title='y'>&amp;</a>`)).toBe('&lt;a href=&quot;x&quot; title=&#39;y&#39;&gt;&amp;amp;&lt;/a&gt;');
  });
});

describe('jsonForScript', () => {
  it('cannot close its script element and still parses to the same value', () => {
    const value = { message: '</script><script>alert(1)</script><!--', line: 'a\u2028b' };
    const text = jsonForScript(value);
    expect(text).not.toMatch(/<\/script|<!--|\u2028/i);
    expect(JSON.parse(text)).toEqual(value);
  });
});

describe('scriptSource', () => {
  it('breaks up </script in any case and leaves the JS meaning alone', () => {
    const source = 'var a = "</SCRIPT>"; var b = "<!-- x";';
    const safe = scriptSource(source);
    expect(safe).not.toMatch(/<\/script|<!--/i);
    // eslint-disable-next-line no-new-func
    expect(new Function(`${safe}; return [a, b];`)()).toEqual(['</SCRIPT>', '<!-- x']);
  });
});

describe('imageDataUri', () => {
  it('takes the MIME type from the extension', () => {
    expect(imageDataUri(new Uint8Array([1, 2, 3]), 'x/epoch-0001.png')).toBe('data:image/png;base64,AQID');
    expect(imageDataUri(new Uint8Array([1]), 'a.JPG')).toBe('data:image/jpeg;base64,AQ==');
  });
});
