/*
 * queries.js: after a query's step on the form page (an htmx swap of the queries panel),
 * put the badges it changed in place of those shown at the fields, rows and form.
 *
 * The panel's answer carries them in <template class="edc-query-mark-updates">: each
 * badge group has the id of the one on the page (qmark-...). A group the page does not
 * show yet (a query just raised) goes beside its value (dd[data-variable]), in its row's
 * last cell (the read-only table titled with its group, the row whose first cell is its
 * key) or above the form; a place the page does not have is left alone. Focus then
 * goes to the step's notice (or refusal). Without JavaScript each step reloads the page.
 */
(() => {
  'use strict';

  if (window.edcQueryMarks) {
    return; // loaded once per page
  }
  window.edcQueryMarks = true;

  const valueHolder = (variable) => {
    const value = document.querySelector(`dd[data-variable="${CSS.escape(variable)}"]`);
    if (!value) {
      return null;
    }
    let holder = value.querySelector('.edc-marks');
    if (!holder) {
      holder = document.createElement('span');
      holder.className = 'edc-marks';
      value.append(' ', holder);
    }
    return holder;
  };

  const rowHolder = (title, key) => {
    for (const table of document.querySelectorAll('table.edc-readonly-table')) {
      const heading = table.closest('section')?.querySelector('h2');
      if (!heading || heading.textContent.trim() !== title) {
        continue;
      }
      for (const row of table.querySelectorAll('tbody tr')) {
        const first = row.querySelector('td');
        if (first && first.textContent.trim() === key) {
          return row.querySelector('td.edc-row-marks');
        }
      }
    }
    return null;
  };

  const formHolder = () => {
    let holder = document.querySelector('.edc-form-marks');
    const content = document.querySelector('.edc-readonly, form.edc-crf');
    if (!holder && content) {
      holder = document.createElement('div');
      holder.className = 'edc-form-marks mb-2';
      content.before(holder);
    }
    return holder;
  };

  const place = (fresh) => {
    const shown = document.getElementById(fresh.id);
    if (shown) {
      shown.replaceWith(fresh);
      return;
    }
    const {
      queryGroup: group, queryTitle: title, queryRow: row, queryVariable: variable,
    } = fresh.dataset;
    let holder = null;
    if (!group && variable) {
      holder = valueHolder(variable);
    } else if (group && row) {
      holder = rowHolder(title, row);
    } else if (!group && !row && !variable) {
      holder = formHolder();
    }
    if (holder) {
      holder.prepend(fresh);
    }
  };

  document.addEventListener('htmx:afterSwap', () => {
    document.querySelectorAll('template.edc-query-mark-updates').forEach((template) => {
      template.content.querySelectorAll('.edc-query-marks[id]').forEach((fresh) => {
        place(fresh.cloneNode(true));
      });
      template.remove();
    });
    // The button pressed is gone with the old panel: keyboard and screen-reader users
    // go on from what the step did (its notice, or why it was refused).
    const said = document.querySelector('#queries-panel .edc-query-focus');
    if (said) {
      said.focus();
    }
  });
})();
