"""`push`: a push to the default branch that touches `.github/devex.yml` refreshes its cache."""

from bot.stages.configuration import CONFIG_PATH, ConfigStore
from bot.pipeline.context import Context
from bot.pipeline.routing import Router

router = Router()


def _touches_config(payload: dict) -> bool:
    repository = payload.get("repository") or {}
    default = repository.get("default_branch") or repository.get("master_branch") or "main"
    if payload.get("ref") != f"refs/heads/{default}":
        return False
    for commit in payload.get("commits") or []:
        for field in ("added", "modified", "removed"):
            if CONFIG_PATH in (commit.get(field) or []):
                return True
    return False


@router.register("push", accept=_touches_config)
def config_changed(ctx: Context) -> None:
    ConfigStore.forget(ctx.session, ctx.repository)
    ctx.log.info("configuration of %s changed; cache dropped", ctx.repository)
