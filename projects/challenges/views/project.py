"""PLACEHOLDER: replaced by the real views (work in progress)."""

from django.http import Http404


def project_detail(request, *args, **kwargs):
    raise Http404


def milestone_report(request, *args, **kwargs):
    raise Http404


def milestone_judge(request, *args, **kwargs):
    raise Http404


def acceptance_apply(request, *args, **kwargs):
    raise Http404


def acceptance_judge(request, *args, **kwargs):
    raise Http404
