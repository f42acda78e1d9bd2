"""Teams are data: one folder per team, loaded into frozen ``TeamSpec``s."""

from devfactory.teams.registry import TeamRegistry, load_teams
from devfactory.teams.spec import Deliverable, TeamSpec

__all__ = ["Deliverable", "TeamRegistry", "TeamSpec", "load_teams"]
