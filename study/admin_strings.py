"""Django admin strings that Django 5.2's own zh_Hans catalogue leaves untranslated.

Marked here (never imported: ``gettext_noop`` only marks) so that ``make messages`` puts them in
our catalogue, whose translations take precedence over Django's (settings.LOCALE_PATHS): the
user-add page, the title of a form with errors and the admin index's column headers for screen
readers then read in Chinese. Drop an entry once Django's catalogue carries it. The admin's
JavaScript strings (the site picker's "Choose all %s" ...) are in the djangojs domain, which
this cannot reach.
"""

from django.utils.translation import gettext_noop

DJANGO_ADMIN_GAPS = (
    # admin/auth/user/add_form.html
    gettext_noop("After you’ve created a user, you’ll be able to edit more user options."),
    # the title of the login, change form and change list pages when a form has errors
    gettext_noop("Error:"),
    # admin/app_list.html: the index's column headers (read by screen readers)
    gettext_noop("Model name"),
    gettext_noop("Add link"),
    gettext_noop("Change or view list link"),
)
