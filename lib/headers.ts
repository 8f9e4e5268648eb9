// Response headers as the promise API shows them: a plain record with lower-case names.
// JS thread only.

// Repeated names are joined with ", " (RFC 9110 5.3). Names are server-chosen, so own-property
// checks only: `name in out` took "Constructor" for a repeat of Object.prototype.constructor, and
// an assignment to "__proto__" would have been dropped.
export function headerRecord(flat: string[]): Record<string, string> {
  const out: Record<string, string> = {};
  for (let i = 0; i + 1 < flat.length; i += 2) {
    const name = flat[i].toLowerCase();
    const value = Object.hasOwn(out, name) ? `${out[name]}, ${flat[i + 1]}` : flat[i + 1];
    if (name === '__proto__') Object.defineProperty(out, name, { value, enumerable: true, writable: true, configurable: true });
    else out[name] = value;
  }
  return out;
}
