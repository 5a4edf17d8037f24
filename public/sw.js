/* uHub service worker (no libraries). Keeps a small app shell so a lost connection shows
   /offline.html instead of the browser's error page, and precaches the browser bundle so that a
   new build is downloaded once, in the background, as soon as this worker updates. Never
   touches the API, server functions, login/logout or event streams. Bump VERSION when the shell
   list changes (scripts/build.sh appends the bundle's hash to it). */
const VERSION = 'v3';
// The bundle's content-hashed files: scripts/build.sh writes them on the next line.
const BUNDLE = [];
const CACHE = 'uhub-shell-' + VERSION;
const SHELL = [
  '/offline.html',
  '/favicon.svg',
  '/manifest.webmanifest',
  '/icons/icon-192.png',
  '/fonts/inter-latin-wght-normal.woff2',
  '/fonts/comfortaa-latin-wght-normal.woff2',
  '/fonts/jetbrains-mono-latin-wght-normal.woff2',
].concat(BUNDLE);
const BYPASS = /^\/(?:api|sfn|login|logout)(?:\/|$)/;
const CACHE_FIRST = /^\/(?:fonts\/|icons\/|favicon\.svg$)/;

self.addEventListener('install', (event) => {
  event.waitUntil(
    caches.open(CACHE)
      // The hashed bundle from the HTTP cache when the page already fetched it (it never
      // changes under its name); the rest from the network.
      .then((cache) => cache.addAll(SHELL.map((url) =>
        new Request(url, { cache: BUNDLE.includes(url) ? 'default' : 'reload' }))))
      .then(() => self.skipWaiting())
  );
});

self.addEventListener('activate', (event) => {
  event.waitUntil(
    Promise.all([
      // Page loads start on the network while the worker wakes up, not after.
      self.registration.navigationPreload ? self.registration.navigationPreload.enable() : null,
      caches.keys().then((keys) => Promise.all(keys
        .filter((key) => key.startsWith('uhub-shell-') && key !== CACHE)
        .map((key) => caches.delete(key)))),
    ]).then(() => self.clients.claim())
  );
});

// Stores a good same-origin response; a failed write only costs a cache entry.
function keep(request, response) {
  if (response.ok && response.type === 'basic') {
    const copy = response.clone();
    caches.open(CACHE).then((cache) => cache.put(request, copy)).catch(() => {});
  }
  return response;
}

self.addEventListener('fetch', (event) => {
  const request = event.request;
  if (request.method !== 'GET') return;
  const url = new URL(request.url);
  if (url.origin !== self.location.origin || BYPASS.test(url.pathname)) return;
  if ((request.headers.get('Accept') || '').includes('text/event-stream')) return;

  if (request.mode === 'navigate') {
    event.respondWith((async () => {
      try {
        return (await event.preloadResponse) || (await fetch(request));
      } catch (e) {
        return (await caches.match('/offline.html')) || Response.error();
      }
    })());
  } else if (CACHE_FIRST.test(url.pathname)) {
    event.respondWith(caches.match(request).then((hit) =>
      hit || fetch(request).then((response) => keep(request, response))));
  } else if (SHELL.includes(url.pathname) && !url.search && !BUNDLE.includes(url.pathname)) {
    event.respondWith(fetch(request)
      .then((response) => keep(request, response))
      .catch(() => caches.match(request).then((hit) => hit || Response.error())));
  }
  // Anything else goes straight to the browser's HTTP cache, the bundle above all: passing it
  // through here only added a hop to every page load (measured). Its names are hashed and
  // served `immutable`, and the precache above went through that HTTP cache too: a page
  // after an update finds the new files there.
});
