"""Regions, projects and endpoints in the environment contract (issue 13), and the start-up errors
that name the variable at fault."""

from __future__ import annotations

import pytest

from bot.config import LOCAL_PROJECT_ID, LOCAL_REGION, CloudAuth, ConfigError, ProjectSpec, load_settings

P1 = "0123456789abcdef0123456789abcdef"
P2 = "fedcba9876543210fedcba9876543210"
AKSK = {"HUAWEICLOUD_SDK_AK": "AK", "HUAWEICLOUD_SDK_SK": "SK"}
IAM = {"HUAWEICLOUD_IAM_USER": "bot", "HUAWEICLOUD_IAM_PASSWORD": "pw", "HUAWEICLOUD_IAM_DOMAIN": "acme"}
TOKEN = {"HUAWEICLOUD_AUTH_TOKEN": "tok"}


def _error(**env: str) -> str:
    with pytest.raises(ConfigError) as info:
        load_settings(**env)
    return str(info.value)


# -- single project: as before -------------------------------------------------------------------


def test_one_region_one_project_as_today() -> None:
    settings = load_settings(**AKSK, HUAWEICLOUD_REGION="ap-southeast-3", HUAWEICLOUD_SDK_PROJECT_ID=P1)
    assert settings.projects == (ProjectSpec("ap-southeast-3", P1),)
    assert settings.project_id == P1 and not settings.multi_region
    assert settings.cloud_endpoint == "https://gaussdb.ap-southeast-3.myhuaweicloud.com"
    assert settings.iam_url == "https://iam.ap-southeast-3.myhuaweicloud.com"


def test_simulator_mode_is_the_one_local_project() -> None:
    settings = load_settings()
    assert settings.cloud_auth is CloudAuth.NONE
    assert settings.projects == (ProjectSpec(LOCAL_REGION, LOCAL_PROJECT_ID),)
    assert settings.cloud_endpoint is None and settings.project_id is None
    assert load_settings(HUAWEICLOUD_REGION="cn-north-4").projects == (
        ProjectSpec("cn-north-4", LOCAL_PROJECT_ID),
    )


def test_an_endpoint_without_a_region_serves_the_configured_project() -> None:
    settings = load_settings(**AKSK, TAURUSDB_ENDPOINT="http://127.0.0.1:9/", HUAWEICLOUD_SDK_PROJECT_ID=P1)
    assert settings.projects == (ProjectSpec(LOCAL_REGION, P1),)
    assert settings.cloud_endpoint == "http://127.0.0.1:9"
    no_creds = load_settings(TAURUSDB_ENDPOINT="http://127.0.0.1:9", HUAWEICLOUD_SDK_PROJECT_ID=P1)
    assert no_creds.projects == (ProjectSpec(LOCAL_REGION, P1),)


def test_a_region_without_a_project_id_is_looked_up_later() -> None:
    for creds in (AKSK, IAM):
        settings = load_settings(**creds, HUAWEICLOUD_REGION="cn-north-4")
        assert settings.projects == (ProjectSpec("cn-north-4", None),)
        assert settings.project_id is None


def test_credentials_without_region_or_project_still_fail_as_before() -> None:
    message = _error(**AKSK)
    assert "HUAWEICLOUD_SDK_PROJECT_ID and HUAWEICLOUD_REGION or TAURUSDB_ENDPOINT is not" in message
    assert "HUAWEICLOUD_SDK_PROJECT_ID is not" in _error(**AKSK, TAURUSDB_ENDPOINT="https://t.example")


# -- several regions ------------------------------------------------------------------------------------


def test_several_regions_with_pairs_and_lookups() -> None:
    settings = load_settings(
        **AKSK,
        HUAWEICLOUD_REGION=" ap-southeast-1, cn-north-4 ,ap-southeast-3",
        HUAWEICLOUD_SDK_PROJECT_ID=f"cn-north-4={P2}, ap-southeast-1 = {P1}",
    )
    assert settings.regions == ("ap-southeast-1", "cn-north-4", "ap-southeast-3")
    assert settings.projects == (
        ProjectSpec("ap-southeast-1", P1),
        ProjectSpec("cn-north-4", P2),
        ProjectSpec("ap-southeast-3", None),
    )
    assert settings.multi_region and settings.project_id is None
    assert settings.project_ids == {"cn-north-4": P2, "ap-southeast-1": P1}
    # The host prefix is not uniform (fact sheet §1.1).
    assert (
        settings.endpoint_for("ap-southeast-1") == "https://gaussdbformysql.ap-southeast-1.myhuaweicloud.com"
    )
    assert settings.endpoint_for("cn-north-4") == "https://gaussdb.cn-north-4.myhuaweicloud.com"
    assert settings.iam_url_for("cn-north-4") == "https://iam.cn-north-4.myhuaweicloud.com"


def test_endpoints_with_and_without_the_region_placeholder() -> None:
    templated = load_settings(
        **IAM,
        HUAWEICLOUD_REGION="eu-west-101,eu-west-102",
        TAURUSDB_ENDPOINT="https://gaussdb-mysql.{region}.example.eu/",
        HUAWEICLOUD_SDK_IAM_ENDPOINT="https://iam.{region}.example.eu",
    )
    assert templated.endpoint_for("eu-west-102") == "https://gaussdb-mysql.eu-west-102.example.eu"
    assert templated.iam_url_for("eu-west-101") == "https://iam.eu-west-101.example.eu"
    shared = load_settings(**AKSK, HUAWEICLOUD_REGION="a-1,b-2", TAURUSDB_ENDPOINT="http://localhost:8080")
    assert shared.endpoint_for("a-1") == shared.endpoint_for("b-2") == "http://localhost:8080"


def test_one_pair_for_one_region_is_that_project() -> None:
    settings = load_settings(
        **AKSK, HUAWEICLOUD_REGION="cn-north-4", HUAWEICLOUD_SDK_PROJECT_ID=f"cn-north-4={P2}"
    )
    assert settings.projects == (ProjectSpec("cn-north-4", P2),) and settings.project_id == P2


@pytest.mark.parametrize(
    ("env", "variable", "words"),
    [
        ({"HUAWEICLOUD_REGION": "ap-southeast-1,,cn-north-4"}, "HUAWEICLOUD_REGION", "an empty region"),
        ({"HUAWEICLOUD_REGION": "AP-Southeast-1"}, "HUAWEICLOUD_REGION", "is not a region id"),
        ({"HUAWEICLOUD_REGION": "cn-north-4/x"}, "HUAWEICLOUD_REGION", "is not a region id"),
        ({"HUAWEICLOUD_REGION": "cn-north-4,cn-north-4"}, "HUAWEICLOUD_REGION", "more than once"),
        (
            {"HUAWEICLOUD_REGION": "ap-southeast-1,cn-north-4", "HUAWEICLOUD_SDK_PROJECT_ID": P1},
            "HUAWEICLOUD_SDK_PROJECT_ID",
            "one project ID cannot serve 2 regions",
        ),
        (
            {"HUAWEICLOUD_REGION": "cn-north-4", "HUAWEICLOUD_SDK_PROJECT_ID": f"ap-southeast-1={P1}"},
            "HUAWEICLOUD_SDK_PROJECT_ID",
            "'ap-southeast-1' is not in HUAWEICLOUD_REGION (cn-north-4)",
        ),
        ({"HUAWEICLOUD_SDK_PROJECT_ID": f"cn-north-4={P1}"}, "HUAWEICLOUD_SDK_PROJECT_ID", "(not set)"),
        (
            {"HUAWEICLOUD_REGION": "cn-north-4", "HUAWEICLOUD_SDK_PROJECT_ID": "cn-north-4=abc"},
            "HUAWEICLOUD_SDK_PROJECT_ID",
            "cn-north-4: ",
        ),
        (
            {"HUAWEICLOUD_REGION": "a-1,b-2", "HUAWEICLOUD_SDK_PROJECT_ID": f"a-1={P1},{P2}"},
            "HUAWEICLOUD_SDK_PROJECT_ID",
            "is not region=project_id",
        ),
        (
            {"HUAWEICLOUD_REGION": "a-1,b-2", "HUAWEICLOUD_SDK_PROJECT_ID": f"a-1={P1},a-1={P2}"},
            "HUAWEICLOUD_SDK_PROJECT_ID",
            "given more than once",
        ),
        ({"HUAWEICLOUD_SDK_PROJECT_ID": "short"}, "HUAWEICLOUD_SDK_PROJECT_ID", "32 letters or digits"),
        (
            {"TAURUSDB_ENDPOINT": "https://{region}.example"},
            "TAURUSDB_ENDPOINT",
            "HUAWEICLOUD_REGION is not set",
        ),
        (
            {"HUAWEICLOUD_REGION": "a-1", "HUAWEICLOUD_SDK_IAM_ENDPOINT": "https://iam.{zone}.example"},
            "HUAWEICLOUD_SDK_IAM_ENDPOINT",
            "the only placeholder",
        ),
        (
            {"HUAWEICLOUD_REGION": "a-1", "TAURUSDB_ENDPOINT": "http://{region}.example"},
            "TAURUSDB_ENDPOINT",
            "only for a loopback host",
        ),
        ({"REDIS_URL": ""}, "REDIS_URL", "must be a redis://"),
        ({"REDIS_URL": "127.0.0.1:6379"}, "REDIS_URL", "must be a redis://"),
        ({"REDIS_URL": "http://127.0.0.1:6379"}, "REDIS_URL", "must be a redis://"),
    ],
)
def test_start_up_errors_name_the_variable(env: dict[str, str], variable: str, words: str) -> None:
    message = _error(**env)
    assert message.startswith("invalid configuration:\n")
    line = next(line.strip() for line in message.splitlines() if line.strip().startswith(variable + ":"))
    assert words in line


def test_a_static_token_cannot_look_up_a_project_id() -> None:
    message = _error(
        **TOKEN,
        HUAWEICLOUD_REGION="ap-southeast-1,cn-north-4",
        HUAWEICLOUD_SDK_PROJECT_ID=f"ap-southeast-1={P1}",
    )
    assert "HUAWEICLOUD_SDK_PROJECT_ID has no project ID for cn-north-4" in message
    assert "HUAWEICLOUD_AUTH_TOKEN" in message
    assert "ap-southeast-1," not in message  # only the region without an ID is named
    full = load_settings(
        **TOKEN,
        HUAWEICLOUD_REGION="ap-southeast-1,cn-north-4",
        HUAWEICLOUD_SDK_PROJECT_ID=f"ap-southeast-1={P1},cn-north-4={P2}",
    )
    assert [p.project_id for p in full.projects] == [P1, P2]


# -- SLACK_APP_TOKEN (issue 15) ----------------------------------------------------------------------

APP_TOKEN = "xapp-1-A0123456789-1234567890123-0123456789abcdef"


def test_an_app_level_token_is_taken_and_an_empty_one_means_http_mode() -> None:
    settings = load_settings(SLACK_APP_TOKEN=f"  {APP_TOKEN}\n", SLACK_BOT_TOKEN="xoxb-1")
    assert settings.slack_app_token is not None
    assert settings.slack_app_token.get_secret_value() == APP_TOKEN
    assert load_settings(SLACK_APP_TOKEN="").slack_app_token is None
    assert load_settings(SLACK_APP_TOKEN="   ").slack_app_token is None


@pytest.mark.parametrize(
    ("token", "said"),
    [
        ("xoxb-1234567890-0987654321-SeCrEtBoTtOkEn", "this is a bot token (xoxb-…)"),
        ("xoxp-1234567890-0987654321-SeCrEtUsErToKeN", "this is a user token (xoxp-…)"),
        ("SeCrEt-not-a-slack-token", "this is not one"),
        ("SeCrEtWithoutDashes", "this is not one"),
        ("xapp-", "this is not one"),
        ("xapp-1-A01 23", "this is not one"),
    ],
)
def test_any_other_token_stops_start_up_naming_the_variable_not_the_secret(token: str, said: str) -> None:
    message = _error(SLACK_APP_TOKEN=token)
    assert "SLACK_APP_TOKEN: must be an app-level token (xapp-…) with the connections:write scope" in message
    assert said in message
    assert "SeCrEt" not in message and "A01" not in message


@pytest.mark.parametrize(
    ("env", "words"),
    [
        ({"SLACK_APP_TOKEN": "xapp-1-A1-1-abc"}, "SLACK_BOT_TOKEN is required"),
        ({"SLACK_SIGNING_SECRET": "s"}, "SLACK_BOT_TOKEN is required"),
        ({"SLACK_BOT_TOKEN": "xoxb-1", "PORT": "9102", "METRICS_PORT": "9102"}, "METRICS_PORT must differ"),
    ],
)
def test_settings_that_cannot_work_together_stop_start_up(env: dict[str, str], words: str) -> None:
    """Half a Slack setup would start the local shell (a demo policy) on a production Redis; one port
    for both servers could never bind."""
    assert words in _error(**env)


def test_redis_urls_of_every_kind_are_taken() -> None:
    for url in ("redis://h:6379/0", "rediss://u:p@h:6380", "unix:///run/redis.sock"):
        assert load_settings(REDIS_URL=url).redis_url == url
