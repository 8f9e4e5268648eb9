// The label of each URL's progress bar: its file name when that is unique among the URLs of the
// run, else as much more of the URL (folders, host, query) as tells it apart from the others.
// Runs on the main thread, once per run, before the transfers start.
import { redactUrl } from '../validate';

/** From the shortest label to the whole URL: "b.bin", "a/b.bin", "host/a/b.bin", …, the URL. */
function candidates(url: string): string[] {
  const parsed = new URL(url);
  const segments = parsed.pathname.split('/').filter((segment) => segment.length > 0);
  const out: string[] = [];
  for (let count = 1; count <= segments.length; count++) out.push(segments.slice(-count).join('/'));
  const hostPath = `${parsed.host}${parsed.pathname}`;
  out.push(hostPath, `${hostPath}${parsed.search}`, redactUrl(url));
  return out;
}

/**
 * One label per URL, distinct from every other URL's: the first candidate of a URL that is no
 * candidate of any other URL. The same URL given twice gets " (2)", " (3)", … after the first.
 */
export function distinctLabels(urls: readonly string[]): string[] {
  const unique = [...new Set(urls)];
  const lists = new Map(unique.map((url) => [url, candidates(url)]));
  const labels = new Map<string, string>();
  for (const url of unique) {
    const others = unique.filter((other) => other !== url).map((other) => new Set(lists.get(other)));
    const own = lists.get(url) as string[];
    labels.set(url, own.find((label) => others.every((set) => !set.has(label))) ?? own[own.length - 1]);
  }
  const seen = new Map<string, number>();
  return urls.map((url) => {
    const count = (seen.get(url) ?? 0) + 1;
    seen.set(url, count);
    return count === 1 ? (labels.get(url) as string) : `${labels.get(url)} (${count})`;
  });
}
