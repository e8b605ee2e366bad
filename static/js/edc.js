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
   * attributesToSettle without 'style': htmx's settle step copies these
   * attributes from a replaced element to its same-id successor with
   * setAttribute, and a style attribute (any style a script set through
   * the CSSOM) written that way is an inline style the CSP refuses. Our
   * templates carry no style attributes, so nothing is lost.
   */
  if (window.htmx) {
    window.htmx.config.includeIndicatorStyles = false;
    window.htmx.config.allowEval = false;
    window.htmx.config.attributesToSettle = ['class', 'width', 'height'];
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
  /* --- Wide tables scroll from the keyboard ---------------------------
   * A .table-responsive whose table is wider than the screen scrolls
   * sideways; a keyboard user can scroll it only once it takes the focus
   * (WCAG 2.1.1, axe "scrollable-region-focusable"). Such a box gets
   * tabindex=0, and, when its table has a caption, role=region named by it.
   * Re-checked when the window is resized and after htmx swaps.
   */
  const markScrollingTables = () => {
    document.querySelectorAll('.table-responsive').forEach((box) => {
      const scrolls = box.scrollWidth > box.clientWidth + 1;
      if (scrolls && !box.hasAttribute('tabindex')) {
        const caption = box.querySelector('caption');
        const named = caption && !box.hasAttribute('role') && !box.hasAttribute('aria-label');
        box.setAttribute('tabindex', '0');
        box.setAttribute('data-edc-scrolls', named ? 'region' : '');
        if (named) {
          box.setAttribute('role', 'region');
          box.setAttribute('aria-label', caption.textContent.trim());
        }
      } else if (!scrolls && box.hasAttribute('data-edc-scrolls')) {
        if (box.getAttribute('data-edc-scrolls') === 'region') {
          box.removeAttribute('role');
          box.removeAttribute('aria-label');
        }
        box.removeAttribute('tabindex');
        box.removeAttribute('data-edc-scrolls');
      }
    });
  };
  document.addEventListener('DOMContentLoaded', markScrollingTables);
  window.addEventListener('resize', markScrollingTables);
  document.addEventListener('htmx:afterSettle', markScrollingTables);

  /* --- CTCAE term type-ahead (AE form) ---------------------------------
   * The WAI-ARIA combobox pattern with a listbox popup (APG "Editable
   * Combobox With List Autocomplete"). The term input (data-term-input,
   * role=combobox, aria-controls=ae-term-options) asks the server for
   * matching terms (htmx, into the #ae-term-options listbox); focus stays
   * in the input and aria-activedescendant names the active option.
   * ArrowDown / ArrowUp move through the options, Enter picks the active
   * one, Escape or Tab away closes the list. Picking (Enter or a click)
   * writes the term into the input, lets htmx fetch the term's grades (the
   * option's own hx-get, on its click) and closes the list. aria-expanded
   * follows whether the list shows options.
   */
  const termOptions = () => document.getElementById('ae-term-options');
  const termInput = () => document.querySelector('[data-term-input]');
  const optionsIn = (list) => Array.from(list.querySelectorAll('[role="option"][data-term]'));

  const setActive = (input, list, option) => {
    optionsIn(list).forEach((item) => {
      item.setAttribute('aria-selected', item === option ? 'true' : 'false');
    });
    if (option) {
      input.setAttribute('aria-activedescendant', option.id);
      option.scrollIntoView({ block: 'nearest' });
    } else {
      input.removeAttribute('aria-activedescendant');
    }
  };

  const closeTerms = () => {
    const list = termOptions();
    const input = termInput();
    if (list) {
      list.replaceChildren();
    }
    if (input) {
      input.setAttribute('aria-expanded', 'false');
      input.removeAttribute('aria-activedescendant');
    }
  };

  // New options from the server: the list is open when it holds options; none is active.
  document.addEventListener('htmx:afterSwap', (event) => {
    const list = termOptions();
    const input = termInput();
    if (!list || !input || event.target !== list) {
      return;
    }
    input.setAttribute('aria-expanded', list.querySelector('[role="option"]') ? 'true' : 'false');
    input.removeAttribute('aria-activedescendant');
  });

  // A press on an option must not take focus from the input (the click still fires).
  document.addEventListener('mousedown', (event) => {
    if (event.target instanceof Element && event.target.closest('#ae-term-options [data-term]')) {
      event.preventDefault();
    }
  });

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
    // htmx handles the option's hx-get on this same click; close the list after it.
    window.setTimeout(closeTerms, 0);
  });

  document.addEventListener('focusout', (event) => {
    const input = termInput();
    const list = termOptions();
    if (!input || !list || event.target !== input) {
      return;
    }
    if (!(event.relatedTarget instanceof Node) || !list.contains(event.relatedTarget)) {
      closeTerms();
    }
  });

  document.addEventListener('keydown', (event) => {
    const input = termInput();
    const list = termOptions();
    if (!input || !list || event.target !== input) {
      return;
    }
    const options = optionsIn(list);
    const active = document.getElementById(input.getAttribute('aria-activedescendant') || '');
    const index = active ? options.indexOf(active) : -1;
    if (event.key === 'ArrowDown' || event.key === 'ArrowUp') {
      if (!options.length) {
        return;
      }
      event.preventDefault();
      const step = event.key === 'ArrowDown' ? 1 : -1;
      const next = index + step;
      setActive(input, list, next >= 0 && next < options.length ? options[next] : null);
    } else if (event.key === 'Enter' && index >= 0) {
      event.preventDefault(); // pick the term; do not submit the form
      options[index].click();
    } else if (event.key === 'Escape' && options.length) {
      event.preventDefault();
      closeTerms();
    }
  });
})();
