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
  /* --- CTCAE term type-ahead (AE form) ---------------------------------
   * The term input (data-term-input) asks the server for matching terms
   * (htmx, into #ae-term-options). Picking an option (click, or Enter on a
   * focused option) writes the term into the input, lets htmx fetch the
   * term's grades (the option's own hx-get) and closes the list. ArrowDown
   * in the input moves into the list; ArrowUp/ArrowDown move within it;
   * Escape closes it and returns to the input.
   */
  const termOptions = () => document.getElementById('ae-term-options');
  const termInput = () => document.querySelector('[data-term-input]');

  document.addEventListener('click', (event) => {
    const option = event.target instanceof Element ? event.target.closest('[data-term]') : null;
    if (!option) {
      return;
    }
    const input = termInput();
    if (input) {
      input.value = option.getAttribute('data-term');
      input.focus();
    }
    // htmx handles the option's hx-get on this same click; empty the list after it.
    window.setTimeout(() => {
      const list = termOptions();
      if (list) {
        list.replaceChildren();
      }
    }, 0);
  });

  document.addEventListener('keydown', (event) => {
    const list = termOptions();
    if (!list) {
      return;
    }
    const target = event.target;
    const options = Array.from(list.querySelectorAll('[data-term]'));
    if (target instanceof Element && target.hasAttribute('data-term-input')) {
      if (event.key === 'ArrowDown' && options.length) {
        event.preventDefault();
        options[0].focus();
      } else if (event.key === 'Escape') {
        list.replaceChildren();
      }
      return;
    }
    const index = options.indexOf(target);
    if (index < 0) {
      return;
    }
    if (event.key === 'ArrowDown' || event.key === 'ArrowUp') {
      event.preventDefault();
      const next = options[index + (event.key === 'ArrowDown' ? 1 : -1)];
      if (next) {
        next.focus();
      } else if (event.key === 'ArrowUp') {
        const input = termInput();
        if (input) {
          input.focus();
        }
      }
    } else if (event.key === 'Escape') {
      list.replaceChildren();
      const input = termInput();
      if (input) {
        input.focus();
      }
    }
  });
})();
