// fetch()'s Response.clone(): Node's clone copies the Response's internal state, not the url,
// redirected and type that fetch() set on the instance (lib/fetch-response.ts), so every clone
// gets them, and a clone of a clone too. JS thread only.

/** `response`, whose clone() keeps its url, redirected and type. */
export function keepOnClone(response: Response): Response {
  const { url, redirected, type } = response;
  Object.defineProperty(response, 'clone', {
    value: (): Response => {
      const copy = Response.prototype.clone.call(response);
      Object.defineProperties(copy, {
        url: { value: url, enumerable: false },
        redirected: { value: redirected, enumerable: false },
        type: { value: type, enumerable: false },
      });
      return keepOnClone(copy);
    },
    enumerable: false,
  });
  return response;
}
