"""What an import reports: its errors (subject / visit / form / variable), what it changes."""

from __future__ import annotations

from dataclasses import dataclass, field


@dataclass(frozen=True)
class Error:
    """One error of a file, located as crf-spec asks: subject / visit / form / variable."""

    subject: str
    visit: str
    form: str
    variable: str
    message: str

    def __str__(self) -> str:
        where = " / ".join(part or "-" for part in (self.subject, self.visit, self.form))
        return f"{where} / {self.variable or '-'}: {self.message}"


@dataclass(frozen=True)
class FormChange:
    """An existing form the import changes, and the variables (or groups) that change."""

    subject: str
    visit: str
    form: str
    variables: tuple[str, ...]


@dataclass
class Summary:
    sites_created: int = 0
    subjects_created: int = 0
    subjects_changed: int = 0
    forms_created: int = 0
    forms_changed: int = 0
    forms_unchanged: int = 0
    values_changed: int = 0


@dataclass
class ImportReport:
    file_sha256: str
    dry_run: bool
    errors: list[Error] = field(default_factory=list)
    summary: Summary = field(default_factory=Summary)
    changed_forms: list[FormChange] = field(default_factory=list)

    @property
    def ok(self) -> bool:
        return not self.errors

    @property
    def imported(self) -> bool:
        """The file's data are in the database (not a preview, no errors)."""
        return self.ok and not self.dry_run
