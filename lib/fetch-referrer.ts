// fetch()'s `referrer` and `referrerPolicy` as the Referer header the Fetch standard's
// "determine request's referrer" (Referrer Policy, section 8.3) gives: outside a page there is no
// client, so only a referrer URL given in init sends one. JS thread only.

/** The default policy (Fetch: an empty referrerPolicy means this one). */
const DEFAULT_POLICY = 'strict-origin-when-cross-origin';
/** A longer referrer URL is sent as its origin (Referrer Policy, 8.3 step 6). */
const MAXIMUM_LENGTH = 4096;

/** The Referer value of `request`, or undefined when none is sent. */
export function refererOf(request: Request): string | undefined {
  if (request.referrer === '' || request.referrer === 'about:client') return undefined;
  const referrer = new URL(request.referrer);
  if (referrer.protocol !== 'http:' && referrer.protocol !== 'https:') return undefined;
  const target = new URL(request.url);
  referrer.username = '';
  referrer.password = '';
  referrer.hash = '';
  const origin = `${referrer.origin}/`;
  const full = referrer.href.length > MAXIMUM_LENGTH ? origin : referrer.href;
  const sameOrigin = referrer.origin === target.origin;
  const downgrade = trustworthy(referrer) && !trustworthy(target);
  switch (request.referrerPolicy || DEFAULT_POLICY) {
    case 'no-referrer':
      return undefined;
    case 'origin':
      return origin;
    case 'unsafe-url':
      return full;
    case 'same-origin':
      return sameOrigin ? full : undefined;
    case 'origin-when-cross-origin':
      return sameOrigin ? full : origin;
    case 'strict-origin':
      return downgrade ? undefined : origin;
    case 'no-referrer-when-downgrade':
      return downgrade ? undefined : full;
    default: // strict-origin-when-cross-origin
      return sameOrigin ? full : downgrade ? undefined : origin;
  }
}

// "Potentially trustworthy" (Secure Contexts) for the http(s) URLs a referrer compares.
function trustworthy(url: URL): boolean {
  if (url.protocol === 'https:') return true;
  const host = url.hostname;
  return host === 'localhost' || host.endsWith('.localhost') || host === '[::1]' || /^127\.\d+\.\d+\.\d+$/.test(host);
}
