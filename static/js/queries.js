/*
 * queries.js: after a query's step on the form page (an htmx swap of the queries panel),
 * put the badges it changed in place of those shown at the fields, rows and form.
 *
 * The panel's answer carries them in <template class="edc-query-mark-updates">: each
 * badge group has the id of the one on the page (qmark-...). A group the page does not
 * show is left alone (no error). Without JavaScript the step reloads the whole page.
 */
(() => {
  'use strict';

  if (window.edcQueryMarks) {
    return; // loaded once per page
  }
  window.edcQueryMarks = true;

  document.addEventListener('htmx:afterSwap', () => {
    document.querySelectorAll('template.edc-query-mark-updates').forEach((template) => {
      template.content.querySelectorAll('[id]').forEach((fresh) => {
        const shown = document.getElementById(fresh.id);
        if (shown) {
          shown.replaceWith(fresh.cloneNode(true));
        }
      });
      template.remove();
    });
  });
})();
