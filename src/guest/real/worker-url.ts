// Worker threads run compiled JavaScript: from source (vitest, tsx) a worker is loaded from dist/, which
// `npm run build` (and `npm test`'s pretest) produces; from dist/ it sits next to its caller.
export function compiledSibling(callerUrl: string, file: string): URL {
  if (callerUrl.endsWith('.ts')) {
    const src = callerUrl.lastIndexOf('/src/');
    if (src < 0) throw new Error(`cannot locate dist/ for ${callerUrl}`);
    const rel = callerUrl.slice(src + 1, callerUrl.lastIndexOf('/') + 1); // "src/guest/real/"
    return new URL(`${callerUrl.slice(0, src)}/dist/${rel}${file}`);
  }
  return new URL(`./${file}`, callerUrl);
}
