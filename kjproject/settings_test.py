"""Test settings: the real settings, with tasks eager, fast hashing and throw-away file storage."""

import tempfile

from .settings import *
from .settings import env

CELERY_TASK_ALWAYS_EAGER = True
CELERY_TASK_EAGER_PROPAGATES = True
PASSWORD_HASHERS = ["django.contrib.auth.hashers.MD5PasswordHasher"]
PRIVATE_MEDIA_ROOT = MEDIA_ROOT = tempfile.mkdtemp(prefix="kj-test-media-")
STORAGES = {
    "default": {"BACKEND": "django.core.files.storage.FileSystemStorage"},
    "staticfiles": {"BACKEND": "django.contrib.staticfiles.storage.StaticFilesStorage"},
}
EMAIL_BACKEND = "django.core.mail.backends.locmem.EmailBackend"
REQUIRE_SERVICES = env.bool("REQUIRE_SERVICES", default=False)
# whitenoise warns when STATIC_ROOT is missing (tests never run collectstatic; finders serve nothing here)
STATIC_ROOT = tempfile.mkdtemp(prefix="kj-test-static-")
