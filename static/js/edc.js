/*
 * edc.js: the site's own small script, loaded with `defer` on every page,
 * AFTER vendor/htmx/htmx.min.js (also `defer`), so deferred order keeps
 * htmx first.
 *
 * CSP: script-src 'self'; style-src 'self'. So no inline scripts, no inline
 * handlers (onclick=...), no eval. All behaviour is set up here through
 * data-* attributes and delegated listeners, so it also works on content
 * that htmx swaps in later.
 *
 * Plain ES2020, no frameworks.
 */
(() => {
  'use strict';

  /* --- htmx settings ---------------------------------------------------
   * Deferred scripts run before DOMContentLoaded, and htmx reads its config
   * (and injects its indicator <style>) only then, so setting it here is in
   * time. The inline <style> htmx would inject is blocked by our CSP; the
   * same indicator rules live in static/css/edc.css instead.
   * allowEval = false: no hx-on / js: / eval-based features (CSP has no
   * unsafe-eval anyway).
   */
  if (window.htmx) {
    window.htmx.config.includeIndicatorStyles = false;
    window.htmx.config.allowEval = false;
  }

  /* --- CSRF for htmx requests ------------------------------------------
   * The base template renders <meta name="csrf-token" content="{{ csrf_token }}">.
   * Django reads the token from the X-CSRFToken header (CSRF_HEADER_NAME
   * default). The meta tag is read on every request, not cached, so a
   * rotated token (e.g. after login) is picked up.
   */
  const csrfToken = () => {
    const meta = document.querySelector('meta[name="csrf-token"]');
    return meta ? meta.getAttribute('content') : '';
  };

  document.addEventListener('htmx:configRequest', (event) => {
    const token = csrfToken();
    if (token) {
      event.detail.headers['X-CSRFToken'] = token;
    }
  });

  /* --- <form data-confirm="message"> -----------------------------------
   * Ask before submitting; cancel if refused. Listens in the capture phase
   * on window so it runs before htmx's own submit listener on the form
   * (htmx does not look at defaultPrevented), and stops the event there.
   */
  window.addEventListener('submit', (event) => {
    const form = event.target;
    if (!(form instanceof HTMLFormElement) || !form.hasAttribute('data-confirm')) {
      return;
    }
    const message = form.getAttribute('data-confirm') || 'Are you sure?';
    if (!window.confirm(message)) {
      event.preventDefault();
      event.stopImmediatePropagation();
    }
  }, true);

  /* --- [data-autosubmit] ------------------------------------------------
   * A <select data-autosubmit> submits its form on change (language switch).
   * requestSubmit() fires a real submit event, so data-confirm, htmx and
   * form validation still apply; form.submit() is the fallback for old
   * browsers. The template should keep a submit button for users without JS.
   */
  document.addEventListener('change', (event) => {
    const el = event.target;
    if (!(el instanceof Element) || !el.hasAttribute('data-autosubmit')) {
      return;
    }
    const form = el.closest('form');
    if (!form) {
      return;
    }
    if (typeof form.requestSubmit === 'function') {
      form.requestSubmit();
    } else {
      form.submit();
    }
  });
})();
