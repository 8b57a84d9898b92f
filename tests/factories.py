import factory

from flags.models import EmploymentType, Rank, Subject, WorkingPattern


class SubjectFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = Subject

    staff_number = factory.Sequence(lambda n: f"{100000 + n}")
    name = factory.Faker("name", locale="en_GB")
    rank = Rank.CONSTABLE
    role = "Response officer"
    unit = "North Response"
    working_pattern = WorkingPattern.FULL_TIME
    employment_type = EmploymentType.OFFICER
