"""Visit, query and SAE reminders: daily and weekly digests in each site's time zone."""
