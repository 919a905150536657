import { useEffect, useState, type MouseEvent, type ReactNode } from 'react';

/** The console's pages live under /console; the site answers index.html for each of them. */
export const basePath = '/console';

export interface Route {
  /** The path inside the console, always starting with "/": "/clients/abc". */
  path: string;
  /** The path split into its segments: ["clients", "abc"]. */
  segments: string[];
  params: URLSearchParams;
}

function currentRoute(): Route {
  const full = window.location.pathname;
  const inside = full.startsWith(basePath) ? full.slice(basePath.length) : full;
  const path = inside === '' ? '/' : inside;
  return {
    path,
    segments: path
      .split('/')
      .filter((s) => s !== '')
      .map(decodeURIComponent),
    params: new URLSearchParams(window.location.search),
  };
}

const routeEvent = 'steward:navigate';

export function navigate(to: string, options: { replace?: boolean } = {}): void {
  const url = `${basePath}${to}`;
  if (options.replace === true) window.history.replaceState(null, '', url);
  else window.history.pushState(null, '', url);
  window.dispatchEvent(new Event(routeEvent));
}

export function useRoute(): Route {
  const [route, setRoute] = useState(currentRoute);
  useEffect(() => {
    const update = () => setRoute(currentRoute());
    window.addEventListener('popstate', update);
    window.addEventListener(routeEvent, update);
    return () => {
      window.removeEventListener('popstate', update);
      window.removeEventListener(routeEvent, update);
    };
  }, []);
  return route;
}

export function Link(props: {
  to: string;
  children: ReactNode;
  className?: string;
  title?: string;
  testId?: string;
}): ReactNode {
  const onClick = (event: MouseEvent<HTMLAnchorElement>) => {
    if (event.button !== 0 || event.metaKey || event.ctrlKey || event.shiftKey || event.altKey) return;
    event.preventDefault();
    navigate(props.to);
  };
  return (
    <a
      href={`${basePath}${props.to}`}
      onClick={onClick}
      className={props.className}
      title={props.title}
      data-testid={props.testId}
    >
      {props.children}
    </a>
  );
}
