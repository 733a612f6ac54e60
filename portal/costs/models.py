"""Cost data as the scheduled ingest stores it. Pages read only these rows, never Azure."""

from django.db import models

from portal.costs.choices import DEFAULT_THRESHOLDS, Basis, IngestStatus, RefreshStatus


def _default_thresholds():
    return list(DEFAULT_THRESHOLDS)


class CostEntry(models.Model):
    """One day's actual cost of one service in one resource group for one `agent` tag ("" = untagged),
    as Cost Management reported it. The unique key makes the ingest an upsert: running it twice stores
    nothing twice."""

    # Not indexed on its own: the unique key starts with it (one index less for the ingest to write, #11).
    environment = models.ForeignKey("catalog.Environment", on_delete=models.CASCADE, related_name="cost_entries",
                                    db_index=False)
    date = models.DateField()
    service = models.CharField(max_length=100, help_text="Cost Management's ServiceName.")
    resource_group = models.CharField(max_length=90, help_text="Lowercased: Azure compares them without case.")
    agent = models.CharField(max_length=256, blank=True, help_text="Value of the `agent` tag; empty when untagged.")
    cost = models.DecimalField(max_digits=18, decimal_places=6)
    currency = models.CharField(max_length=3, default="USD")
    updated_at = models.DateTimeField(auto_now=True)

    class Meta:
        ordering = ["date", "service", "resource_group", "agent"]
        verbose_name_plural = "cost entries"
        constraints = [
            models.UniqueConstraint(fields=["environment", "date", "service", "resource_group", "agent"],
                                    name="costentry_unique_key"),
        ]
        indexes = [models.Index(fields=["date"], name="costentry_date")]

    def __str__(self):
        return f"{self.environment_id} {self.date} {self.service} {self.agent or '-'}: {self.cost}"


class CostMonth(models.Model):
    """Issue #11: the month's sum of CostEntry per environment, service, resource group and agent tag, kept
    by the ingest in the transaction that stores the days (portal.costs.services.cost_month_refresh), so it
    always equals SUM(cost) over the month's CostEntry rows. The month-level pages read this, not the days."""

    environment = models.ForeignKey("catalog.Environment", on_delete=models.CASCADE, related_name="cost_months")
    month = models.DateField(help_text="The first day of the month.")
    service = models.CharField(max_length=100)
    resource_group = models.CharField(max_length=90)
    agent = models.CharField(max_length=256, blank=True)
    cost = models.DecimalField(max_digits=18, decimal_places=6)
    currency = models.CharField(max_length=3, default="USD")

    class Meta:
        ordering = ["month", "service", "resource_group", "agent"]
        constraints = [
            models.UniqueConstraint(fields=["environment", "month", "service", "resource_group", "agent"],
                                    name="costmonth_unique_key"),
        ]
        indexes = [models.Index(fields=["month", "environment"], name="costmonth_month_env"),
                   # a service's largest agents in one resource group (the service page narrowed to it)
                   models.Index("environment", "month", "service", "resource_group", models.F("cost").desc(), "agent",
                                name="costmonth_largest")]

    def __str__(self):
        return f"{self.environment_id} {self.month:%Y-%m} {self.service} {self.agent or '-'}: {self.cost}"


class CostDay(models.Model):
    """Issue #11: one day's sum of CostEntry per environment, service and resource group (the agent tags
    summed), kept with CostMonth by portal.costs.services.cost_month_refresh in the ingest's transaction.
    The pages' day-by-day tables read this: about 300 times fewer rows than the days of every agent."""

    environment = models.ForeignKey("catalog.Environment", on_delete=models.CASCADE, related_name="cost_days")
    date = models.DateField()
    service = models.CharField(max_length=100)
    resource_group = models.CharField(max_length=90)
    cost = models.DecimalField(max_digits=18, decimal_places=6)

    class Meta:
        ordering = ["date", "service", "resource_group"]
        constraints = [models.UniqueConstraint(fields=["environment", "date", "service", "resource_group"],
                                               name="costday_unique_key")]
        indexes = [models.Index(fields=["date", "environment"], name="costday_date_env")]

    def __str__(self):
        return f"{self.environment_id} {self.date} {self.service}: {self.cost}"


class CostMonthService(models.Model):
    """Issue #11: the month's sum per environment, service, resource group and whether an agent tag is set:
    a few dozen rows a month, behind the totals, "by service", "by resource group", the six-month trend and
    showback's pools. Kept with CostMonth (cost_month_refresh), equal to SUM over its rows."""

    environment = models.ForeignKey("catalog.Environment", on_delete=models.CASCADE, related_name="cost_services")
    month = models.DateField(help_text="The first day of the month.")
    service = models.CharField(max_length=100)
    resource_group = models.CharField(max_length=90)
    tagged = models.BooleanField(help_text="The cost of rows with an agent tag (else the untagged cost).")
    cost = models.DecimalField(max_digits=18, decimal_places=6)

    class Meta:
        ordering = ["month", "service", "resource_group", "tagged"]
        constraints = [models.UniqueConstraint(fields=["environment", "month", "service", "resource_group", "tagged"],
                                               name="costmonthservice_unique_key")]
        indexes = [models.Index(fields=["month", "environment"], name="costmonthservice_month_env")]

    def __str__(self):
        return f"{self.environment_id} {self.month:%Y-%m} {self.service}{' tagged' if self.tagged else ''}: {self.cost}"


class CostAgentMonth(models.Model):
    """Issue #11: an agent tag's month in one environment (its services and resource groups summed), kept with
    CostMonth (cost_month_refresh). Indexed by cost, so a page's largest agents are read, not sorted."""

    environment = models.ForeignKey("catalog.Environment", on_delete=models.CASCADE, related_name="cost_agents")
    month = models.DateField(help_text="The first day of the month.")
    agent = models.CharField(max_length=256)
    cost = models.DecimalField(max_digits=18, decimal_places=6)

    class Meta:
        ordering = ["month", "agent"]
        constraints = [models.UniqueConstraint(fields=["environment", "month", "agent"],
                                               name="costagentmonth_unique_key")]
        indexes = [models.Index("environment", "month", models.F("cost").desc(), "agent",
                                name="costagentmonth_largest"),
                   models.Index(fields=["month", "agent"], name="costagentmonth_month_agent")]

    def __str__(self):
        return f"{self.environment_id} {self.month:%Y-%m} {self.agent}: {self.cost}"


class CostAgentService(models.Model):
    """Issue #11: an agent tag's month of one service in one environment (its resource groups summed; "" is the
    untagged cost), kept with CostMonth (cost_month_refresh): the service page's largest agents, from an index."""

    environment = models.ForeignKey("catalog.Environment", on_delete=models.CASCADE, related_name="cost_service_agents")
    month = models.DateField(help_text="The first day of the month.")
    service = models.CharField(max_length=100)
    agent = models.CharField(max_length=256, blank=True)
    cost = models.DecimalField(max_digits=18, decimal_places=6)

    class Meta:
        ordering = ["month", "service", "agent"]
        constraints = [models.UniqueConstraint(fields=["environment", "month", "service", "agent"],
                                               name="costagentservice_unique_key")]
        indexes = [models.Index("environment", "month", "service", models.F("cost").desc(), "agent",
                                name="costagentservice_largest")]

    def __str__(self):
        return f"{self.environment_id} {self.month:%Y-%m} {self.service} {self.agent or '-'}: {self.cost}"


class CostAgentTotal(models.Model):
    """Issue #11: an agent tag's month in all environments: the sum of its CostAgentMonth rows, recomputed for
    the month by every ingest of it (one at a time), so the dashboard reads its largest agents from an index."""

    month = models.DateField(help_text="The first day of the month.")
    agent = models.CharField(max_length=256)
    cost = models.DecimalField(max_digits=18, decimal_places=6)

    class Meta:
        ordering = ["month", "agent"]
        constraints = [models.UniqueConstraint(fields=["month", "agent"], name="costagenttotal_unique_key")]
        indexes = [models.Index("month", models.F("cost").desc(), "agent", name="costagenttotal_largest")]

    def __str__(self):
        return f"{self.month:%Y-%m} {self.agent}: {self.cost}"


class ShowbackMonth(models.Model):
    """Issue #11: the state of a month's stored showback (ShowbackRow, ShowbackEnvironment, ShowbackTeam): when it
    was built, over which environments and from which of the month's cost writes. The page rebuilds it before
    reading when what it was built from changed (portal.costs.showback)."""

    month = models.DateField(unique=True, help_text="The first day of the month.")
    built_at = models.DateTimeField(null=True, help_text="When the build began: it holds what was committed then.")
    environments = models.JSONField(default=list, help_text="The ids of the environments it was built over.")
    # A count, not a time: the ingest raises it in the transaction that changes the cost, after the rows, and the
    # build reads it with this row locked, so a build holds exactly the cost writes it counts (no clock compared).
    cost_writes = models.PositiveIntegerField(default=0, help_text="Ingests that changed the month's cost.")
    built_cost_writes = models.PositiveIntegerField(default=0, help_text="cost_writes when it was built.")

    def __str__(self):
        return f"showback of {self.month:%Y-%m} built {self.built_at}"


class ShowbackRow(models.Model):
    """Issue #11: one agent tag's showback in one environment for a month, as the rule gives it (direct + shared,
    in cents), stored by the month's build. Only ids: team and environment names are read with the rows, so a
    rename shows at once. Indexed for the page's "largest first"."""

    month = models.DateField()
    # A snapshot rebuilt from the rows it names, not kept with them: no constraint checked on each of its rows.
    environment = models.ForeignKey("catalog.Environment", on_delete=models.DO_NOTHING, db_constraint=False,
                                    db_index=False, related_name="+")
    agent = models.CharField(max_length=256, help_text="The agent tag (a catalog agent's slug, or a tag naming none).")
    team = models.ForeignKey("catalog.Team", null=True, on_delete=models.DO_NOTHING, db_constraint=False,
                             db_index=False, related_name="+", help_text="The agent's owner; NULL: no such agent.")
    replicas = models.PositiveIntegerField(help_text="Running replicas (0: not running).")
    direct_cents = models.BigIntegerField()
    shared_cents = models.BigIntegerField()
    total_cents = models.BigIntegerField()

    class Meta:
        indexes = [models.Index("month", models.F("total_cents").desc(), name="showbackrow_largest")]

    def __str__(self):
        return f"{self.month:%Y-%m} {self.environment_id} {self.agent}: {self.total_cents}"


class ShowbackEnvironment(models.Model):
    """Issue #11: an environment's month as the showback divides it (its cost, the tagged part, the shared pool,
    the running replicas) and its ShowbackRow rows counted and summed, stored by the month's build."""

    month = models.DateField()
    environment = models.ForeignKey("catalog.Environment", on_delete=models.DO_NOTHING, db_constraint=False,
                                    db_index=False, related_name="+")
    total = models.DecimalField(max_digits=18, decimal_places=6, null=True)
    direct = models.DecimalField(max_digits=18, decimal_places=6, null=True, help_text="The tagged cost.")
    pool = models.DecimalField(max_digits=18, decimal_places=6, null=True,
                               help_text="The untagged cost of the shared services.")
    replicas = models.PositiveIntegerField()
    rows = models.PositiveIntegerField(help_text="Its ShowbackRow rows.")
    sum_cents = models.BigIntegerField(help_text="Their total.")

    class Meta:
        constraints = [models.UniqueConstraint(fields=["month", "environment"], name="showbackenvironment_unique")]

    def __str__(self):
        return f"{self.month:%Y-%m} {self.environment_id}: {self.total}"


class ShowbackTeam(models.Model):
    """Issue #11: a team's month, stored by the build: in one environment, or (environment NULL) in all of them,
    where its agents are counted once however many environments they run in."""

    month = models.DateField()
    environment = models.ForeignKey("catalog.Environment", null=True, on_delete=models.DO_NOTHING,
                                    db_constraint=False, db_index=False, related_name="+")
    team = models.ForeignKey("catalog.Team", null=True, on_delete=models.DO_NOTHING, db_constraint=False,
                             db_index=False, related_name="+", help_text="NULL: the tags that name no agent.")
    agents = models.PositiveIntegerField()
    total_cents = models.BigIntegerField()

    class Meta:
        indexes = [models.Index(fields=["month", "environment"], name="showbackteam_month_env")]

    def __str__(self):
        return f"{self.month:%Y-%m} {self.environment_id} {self.team_id}: {self.total_cents}"


class CostForecast(models.Model):
    """Where an environment's month is heading, as of the last ingest."""

    environment = models.ForeignKey("catalog.Environment", on_delete=models.CASCADE, related_name="cost_forecasts")
    month = models.DateField(help_text="The first day of the month.")
    actual = models.DecimalField(max_digits=18, decimal_places=6)
    forecast = models.DecimalField(max_digits=18, decimal_places=6, help_text="Actual so far + the rest of the month.")
    currency = models.CharField(max_length=3, default="USD")
    daily = models.JSONField(default=list, help_text='[["2026-11-01", "18.52"], ...]: actual, then forecast.')
    as_of = models.DateField(help_text="The day the forecast was made (actual up to here).")
    computed_at = models.DateTimeField()

    class Meta:
        ordering = ["-month", "environment__position"]
        constraints = [models.UniqueConstraint(fields=["environment", "month"], name="costforecast_one_per_month")]

    def __str__(self):
        return f"{self.environment_id} {self.month:%Y-%m}: {self.forecast}"


class CostIngestRun(models.Model):
    """One run of the ingest of an environment: when, how it ended, and the error when it failed. Pages
    show the age of the data (the last success) and the last error from these."""

    environment = models.ForeignKey("catalog.Environment", on_delete=models.CASCADE, related_name="cost_ingest_runs")
    status = models.CharField(max_length=20, choices=IngestStatus.choices, default=IngestStatus.RUNNING)
    backend = models.CharField(max_length=10, help_text="sandbox or azure")
    months = models.JSONField(default=list, help_text='Months fetched, e.g. ["2026-06", ..., "2026-11"].')
    started_at = models.DateTimeField(auto_now_add=True)
    finished_at = models.DateTimeField(null=True, blank=True)
    rows = models.PositiveIntegerField(default=0, help_text="Cost rows stored (inserted or updated).")
    error_code = models.CharField(max_length=100, blank=True)
    error = models.TextField(blank=True)
    # Issue #10: the forecast is read and reported apart from the actual cost; its failure alone leaves
    # the run succeeded (the actual cost was stored) and is kept here.
    forecast_error = models.TextField(blank=True, help_text="Why the month-end forecast could not be read.")

    class Meta:
        ordering = ["-started_at", "-pk"]
        get_latest_by = "started_at"
        indexes = [models.Index(fields=["environment", "status", "finished_at"], name="costingest_env_status")]

    def __str__(self):
        return f"cost ingest of {self.environment_id} #{self.pk} ({self.status})"


class BudgetPolicy(models.Model):
    """An environment's alert thresholds, in percent of its monthly budget (Environment.monthly_budget).
    An environment without a policy uses DEFAULT_THRESHOLDS on both."""

    environment = models.OneToOneField("catalog.Environment", on_delete=models.CASCADE, related_name="budget_policy")
    actual_thresholds = models.JSONField(default=_default_thresholds)
    forecast_thresholds = models.JSONField(default=_default_thresholds)
    updated_at = models.DateTimeField(auto_now=True)
    version = models.PositiveIntegerField(default=0, editable=False,
                                          help_text="Raised by every saved edit; a stale edit form is refused.")

    class Meta:
        verbose_name_plural = "budget policies"

    def __str__(self):
        return f"budget policy of {self.environment_id}"


class BudgetAlert(models.Model):
    """A threshold crossed in a month. Unique per environment, month, basis and threshold: that is what
    makes a crossing notify once."""

    environment = models.ForeignKey("catalog.Environment", on_delete=models.CASCADE, related_name="budget_alerts")
    month = models.DateField(help_text="The first day of the month.")
    basis = models.CharField(max_length=10, choices=Basis.choices)
    threshold = models.PositiveSmallIntegerField(help_text="Percent of the budget.")
    amount = models.DecimalField(max_digits=18, decimal_places=2, help_text="Actual or forecast when it crossed.")
    budget = models.DecimalField(max_digits=10, decimal_places=2)
    crossed_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        ordering = ["-month", "-crossed_at", "-pk"]
        constraints = [models.UniqueConstraint(fields=["environment", "month", "basis", "threshold"],
                                               name="budgetalert_once_per_month")]

    def __str__(self):
        return f"{self.environment_id} {self.month:%Y-%m} {self.basis} {self.threshold}%"


class PriceRefresh(models.Model):
    """An attempt to refresh the price catalogue from the Azure Retail Prices API. The newest successful
    one's `prices` is the catalogue estimates use; without one, the design document's defaults."""

    status = models.CharField(max_length=20, choices=RefreshStatus.choices)
    at = models.DateTimeField(auto_now_add=True)
    region = models.CharField(max_length=40)
    refreshed = models.PositiveIntegerField(default=0, help_text="Entries the API answered.")
    kept = models.PositiveIntegerField(default=0, help_text="Refreshable entries that kept the default.")
    prices = models.JSONField(default=list, blank=True, help_text="The whole catalogue (empty when it failed).")
    error = models.TextField(blank=True)

    class Meta:
        ordering = ["-at", "-pk"]
        verbose_name_plural = "price refreshes"

    def __str__(self):
        return f"price refresh {self.at:%Y-%m-%d %H:%M} ({self.status})"
