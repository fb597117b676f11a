"""PLACEHOLDER: replaced by the real views (work in progress)."""

from django.http import Http404


def need_list(request, *args, **kwargs):
    raise Http404


def need_create(request, *args, **kwargs):
    raise Http404


def need_detail(request, *args, **kwargs):
    raise Http404


def need_edit(request, *args, **kwargs):
    raise Http404


def need_submit(request, *args, **kwargs):
    raise Http404


def need_withdraw(request, *args, **kwargs):
    raise Http404


def need_award(request, *args, **kwargs):
    raise Http404


def need_fail(request, *args, **kwargs):
    raise Http404


def question_answer(request, *args, **kwargs):
    raise Http404
