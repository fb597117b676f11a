"""(being written by a helper; every function below is replaced)"""
from django.http import Http404


def dashboard(request, *args, **kwargs):
    raise Http404


def register(request, *args, **kwargs):
    raise Http404


def profile(request, *args, **kwargs):
    raise Http404


def invitations(request, *args, **kwargs):
    raise Http404


def invitation_detail(request, *args, **kwargs):
    raise Http404


def review(request, *args, **kwargs):
    raise Http404


def history(request, *args, **kwargs):
    raise Http404

