"""The Airflow profiles: what differs in a generated file between Airflow major versions.

Both profiles use only operators that provider 9.17.0 (the last release for Airflow 2.10)
already has, so one set of step handlers serves both; a profile only changes import paths and
how retry backoff is written.
"""

from __future__ import annotations

from dataclasses import dataclass

from pipeglot.errors import UsageError


@dataclass(frozen=True, slots=True)
class Profile:
    """What differs between Airflow major versions in a generated file."""

    version: str
    dag: tuple[str, str]  # (module, name) for each import
    param: tuple[str, str]
    fail_exception: tuple[str, str]
    python_operators: str  # module of PythonOperator and BranchPythonOperator
    python_sensor: tuple[str, str]
    poke_return_value: tuple[str, str]
    float_backoff: bool  # retry_exponential_backoff is a multiplier (3.x) or a switch (2.x)


PROFILES: dict[str, Profile] = {
    "3": Profile(
        "3",
        dag=("airflow.sdk", "DAG"),
        param=("airflow.sdk", "Param"),
        fail_exception=("airflow.sdk.exceptions", "AirflowFailException"),
        python_operators="airflow.providers.standard.operators.python",
        python_sensor=("airflow.providers.standard.sensors.python", "PythonSensor"),
        poke_return_value=("airflow.sdk", "PokeReturnValue"),
        float_backoff=True,
    ),
    "2": Profile(
        "2",
        dag=("airflow", "DAG"),
        param=("airflow.models.param", "Param"),
        fail_exception=("airflow.exceptions", "AirflowFailException"),
        python_operators="airflow.operators.python",
        python_sensor=("airflow.sensors.python", "PythonSensor"),
        poke_return_value=("airflow.sensors.base", "PokeReturnValue"),
        float_backoff=False,
    ),
}


def profile_for(airflow_version: str | int) -> Profile:
    """The profile of a major version; "3.1" and 3 mean the same as "3"."""
    profile = PROFILES.get(str(airflow_version).split(".")[0])
    if profile is None:
        raise UsageError(f"unknown Airflow version {airflow_version!r}; use 3 or 2")
    return profile
