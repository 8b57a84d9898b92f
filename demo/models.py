from django.db import models


class SeededForce(models.Model):
    """The synthetic force this database holds: its seed and size.

    Another seed or size generates other people and other records under the same staff numbers
    and record ids, so ``seed_demo`` refuses to load a second force over the first. One row.
    """

    seed = models.IntegerField()
    subjects = models.PositiveIntegerField()
    seeded_at = models.DateTimeField()

    def __str__(self) -> str:
        return f"synthetic force of {self.subjects} (seed {self.seed})"
