/* Registers uHub's service worker (/sw.js, scope /) after the page has loaded. Silent: a browser
   without service workers, or a failed registration, just means no offline page. */
if ('serviceWorker' in navigator) {
  window.addEventListener('load', function () {
    try {
      navigator.serviceWorker.register('/sw.js', { scope: '/' }).catch(function () {});
    } catch (e) { /* ignored on purpose */ }
  });
}
