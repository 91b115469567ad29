/**
 * The page's token. A link may carry it as `?token=` (the only way to hand a
 * browser one), but a URL stays in the address bar, the history, bookmarks
 * and screenshots: so it is read once, kept in sessionStorage (this tab only,
 * gone when the tab closes) and removed from the URL with replaceState.
 */
const KEY = "roomcast.token";

/** The token from `params` (taken out of the address bar) or from earlier in this session. */
export function takeToken(params: URLSearchParams): string | undefined {
  const given = params.get("token");
  if (given !== null) {
    remember(given);
    params.delete("token");
    const query = params.toString();
    history.replaceState(history.state, "", `${location.pathname}${query ? `?${query}` : ""}${location.hash}`);
    return given || undefined;
  }
  return recall();
}

function remember(token: string): void {
  try {
    if (token) sessionStorage.setItem(KEY, token);
    else sessionStorage.removeItem(KEY);
  } catch {
    // storage disabled: the token lives in this page's memory only
  }
}

function recall(): string | undefined {
  try {
    return sessionStorage.getItem(KEY) ?? undefined;
  } catch {
    return undefined;
  }
}
