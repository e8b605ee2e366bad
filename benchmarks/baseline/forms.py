from django import forms

from benchmarks.baseline.models import Row


class RowForm(forms.ModelForm):  # type: ignore[type-arg]
    class Meta:
        model = Row
        fields = ["name", "value", "recorded_on"]
