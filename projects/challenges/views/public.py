"""PLACEHOLDER: replaced by the real views (work in progress)."""

from django.http import Http404


def challenge_list(request, *args, **kwargs):
    raise Http404


def challenge_detail(request, *args, **kwargs):
    raise Http404


def ask(request, *args, **kwargs):
    raise Http404
