/*
 * worklist.js: the worklist's "Declare missed" dialog.
 *
 * Every overdue row has a "Declare missed" link to the visit's confirmation page (the
 * no-JavaScript path). With JavaScript and Bootstrap, the link opens the one dialog of the
 * page instead, pointed at that row's visit: the form posts to the same URL, focus goes
 * to the reason box, and back to the row's link when the dialog closes (Escape, Cancel,
 * the close button). CSP: no inline script or style; loaded with `defer` after Bootstrap.
 */
(() => {
  'use strict';

  const dialog = document.getElementById('declare-missed-dialog');
  if (!dialog || !window.bootstrap || !window.bootstrap.Modal) {
    return; // the links go to the confirmation page
  }
  const form = dialog.querySelector('form[data-missed-form]');
  const reason = dialog.querySelector('textarea[name="reason"]');
  const next = dialog.querySelector('input[name="next"]');
  const fields = dialog.querySelectorAll('[data-missed-field]');
  const modal = window.bootstrap.Modal.getOrCreateInstance(dialog);
  let opener = null;

  document.querySelectorAll('a[data-worklist-missed]').forEach((link) => {
    link.setAttribute('aria-haspopup', 'dialog');
    link.setAttribute('aria-controls', dialog.id);
  });

  document.addEventListener('click', (event) => {
    const target = event.target;
    const link = target instanceof Element ? target.closest('a[data-worklist-missed]') : null;
    if (!link || event.defaultPrevented || event.button !== 0
        || event.metaKey || event.ctrlKey || event.shiftKey || event.altKey) {
      return; // a new tab or window opens the confirmation page
    }
    event.preventDefault();
    const url = new URL(link.href, window.location.href);
    form.action = url.pathname;
    next.value = url.searchParams.get('next') || (window.location.pathname + window.location.search);
    fields.forEach((field) => {
      field.textContent = link.getAttribute(`data-missed-${field.getAttribute('data-missed-field')}`) || '';
    });
    reason.value = '';
    opener = link;
    modal.show(link);
  });

  dialog.addEventListener('shown.bs.modal', () => {
    reason.focus();
  });

  dialog.addEventListener('hidden.bs.modal', () => {
    if (opener && document.body.contains(opener)) {
      opener.focus();
    }
    opener = null;
  });
})();
