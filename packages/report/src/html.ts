/** Escapes text for HTML element content and quoted attribute values. */
export function escapeHtml(text: string): string {
  return text
    .replaceAll('&', '&amp;')
    .replaceAll('<', '&lt;')
    .replaceAll('>', '&gt;')
    .replaceAll('"', '&quot;')
    .replaceAll("'", '&#39;');
}

/**
 * JSON that is safe inside a `<script type="application/json">` element: `<`
 * becomes `\u003c`, so no `</script>` or `<!--` in a run name or message can end
 * the element early; U+2028/U+2029 are escaped for old JS parsers.
 */
export function jsonForScript(value: unknown): string {
  return JSON.stringify(value)
    .replaceAll('<', '\\u003c')
    .replaceAll('\u2028', '\\u2028')
    .replaceAll('\u2029', '\\u2029');
}

/**
 * JavaScript source that is safe inside a `<script>` element. The HTML parser
 * ends a script at `</script` whatever the JS context, so that sequence is
 * broken up (`<\/script` means the same in a JS string, template or regex).
 */
export function scriptSource(source: string): string {
  return source.replace(/<\/(script)/gi, '<\\/$1').replace(/<!--/g, '<\\!--');
}

/** A `data:` URI for image bytes, the MIME type taken from the file extension. */
export function imageDataUri(bytes: Uint8Array, fileName: string): string {
  const ext = fileName.slice(fileName.lastIndexOf('.') + 1).toLowerCase();
  const mime = ext === 'jpg' || ext === 'jpeg' ? 'image/jpeg' : ext === 'webp' ? 'image/webp' : 'image/png';
  return `data:${mime};base64,${Buffer.from(bytes).toString('base64')}`;
}
