"""PLACEHOLDER: replaced by the real views (work in progress)."""

from django.http import Http404


def challenge_list(request, *args, **kwargs):
    raise Http404


def challenge_detail(request, *args, **kwargs):
    raise Http404


def challenge_action(request, *args, **kwargs):
    raise Http404


def defence_scores(request, *args, **kwargs):
    raise Http404


def question_answer(request, *args, **kwargs):
    raise Http404


def question_dismiss(request, *args, **kwargs):
    raise Http404


def project_detail(request, *args, **kwargs):
    raise Http404


def milestone_conclude(request, *args, **kwargs):
    raise Http404


def project_stop(request, *args, **kwargs):
    raise Http404


def acceptance_conclude(request, *args, **kwargs):
    raise Http404
