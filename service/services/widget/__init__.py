"""Use cases of the widget API (/api/v1, issue 7): every function takes the verified token claims, authorizes the
caller in the same Redis round trip as its first reads (see `access`), and returns plain JSON-ready data."""
from service.services.widget.access import Caller, authorize  # noqa: F401
from service.services.widget.admin import plans, put_plan, put_settings, settings_view  # noqa: F401
from service.services.widget.hints import (attention, card, clear_feedback, give_feedback,  # noqa: F401
                                      settle_hint_outcomes, usefulness)
from service.services.widget.overview import dead_letters, manager_summary, me, panel, sync  # noqa: F401
from service.services.widget.tasks import create_follow_up  # noqa: F401
