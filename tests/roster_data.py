"""Roster test data made by the tests: class CSVs and a small OneRoster 1.1 set (two schools' worth)."""

from __future__ import annotations

import io
import zipfile
from pathlib import Path

from appliance.services.people import access as people, class_roster
from appliance.services.people.access import CONSOLE

MANIFEST = """propertyName,value
manifest.version,1.0
oneroster.version,1.1
file.academicSessions,bulk
file.categories,absent
file.classes,bulk
file.classResources,absent
file.courses,bulk
file.courseResources,absent
file.demographics,absent
file.enrollments,bulk
file.lineItems,absent
file.orgs,bulk
file.resources,absent
file.results,absent
file.users,bulk
source.systemName,County SIS
source.systemCode,county
"""
ORGS = """sourcedId,status,dateLastModified,name,type,identifier,parentSourcedId
org-1,,,Hill Teaching Point,school,HTP,
"""
USERS = """sourcedId,status,dateLastModified,enabledUser,orgSourcedIds,role,username,userIds,givenName,familyName,middleName,identifier,email,sms,phone,agentSourcedIds,grades,password
t-1,,,true,org-1,teacher,zhang.li,,丽,张,,,,,,,,
s-1,,,true,org-1,student,,,小明,王,,2026001,,,,,03,
s-2,,,true,org-1,student,,,Anna,Li,,2026002,,,,,03,
s-3,,,false,org-1,student,,,Old,Pupil,,2026003,,,,,03,
a-1,,,true,org-1,administrator,county.admin,,Chief,Admin,,,,,,,,
"""
CLASSES = """sourcedId,status,dateLastModified,title,grades,courseSourcedId,classCode,classType,location,schoolSourcedId,termSourcedIds,subjects,subjectCodes,periods
c-1,,,三年级一班,03,course-1,3A,homeroom,,org-1,term-1,,,
"""
COURSES = """sourcedId,status,dateLastModified,schoolYearSourcedId,title,courseCode,grades,orgSourcedId,subjects,subjectCodes
course-1,,,term-1,Grade 3,G3,03,org-1,,
"""
SESSIONS = """sourcedId,status,dateLastModified,title,type,startDate,endDate,parentSourcedId,schoolYear
term-1,,,2026 autumn,term,2026-09-01,2027-01-20,,2027
"""
ENROLLMENTS = """sourcedId,status,dateLastModified,classSourcedId,schoolSourcedId,userSourcedId,role,primary,beginDate,endDate
e-1,,,c-1,org-1,t-1,teacher,true,,
e-2,,,c-1,org-1,s-1,student,false,,
e-3,,,c-1,org-1,s-2,student,false,,
e-4,,,c-1,org-1,s-3,student,false,,
"""


def oneroster_files(**changes: str) -> dict[str, bytes]:
    """The set as {file name: bytes}; `changes` replaces a file's text (users="…")."""
    texts = {
        "manifest.csv": MANIFEST,
        "orgs.csv": ORGS,
        "users.csv": USERS,
        "classes.csv": CLASSES,
        "courses.csv": COURSES,
        "academicSessions.csv": SESSIONS,
        "enrollments.csv": ENROLLMENTS,
    }
    for key, text in changes.items():
        texts[{"sessions": "academicSessions.csv"}.get(key, f"{key}.csv")] = text
    return {name: text.encode() for name, text in texts.items() if text is not None}


def write_folder(folder: Path, files: dict[str, bytes]) -> Path:
    folder.mkdir(parents=True, exist_ok=True)
    for name, data in files.items():
        (folder / name).write_bytes(data)
    return folder


def zipped(files: dict[str, bytes], inner: str = "") -> bytes:
    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w") as archive:
        for name, data in files.items():
            archive.writestr(inner + name, data)
    return buffer.getvalue()


def two_classes(kit, names_a=("Wang Fang", "李小明"), names_b=("Zhou Bo",)):
    """Two teachers (t-a, t-b), each with one class of students and PINs; returns a dict of ids and PINs."""
    admin = {"id": None, "role": "admin"}
    ids = {}
    for tag, names in (("a", names_a), ("b", names_b)):
        teacher_id = people.create_teacher(
            kit.people, admin, f"Teacher {tag.upper()}", f"t-{tag}", f"password-{tag}-123"
        )
        teacher = kit.people.person(teacher_id)
        csv = ("name,pin\n" + "".join(f"{n},{2468 + 11 * i}\n" for i, n in enumerate(names))).encode()
        result = class_roster.import_file(kit.people, teacher, csv, f"{tag}.csv", f"Class {tag.upper()}")
        students = kit.people.students_of(result.class_id)
        pins = {name: pin for name, _, pin in result.pins}
        ids[tag] = {
            "teacher": teacher_id,
            "class": result.class_id,
            "students": [s["id"] for s in students],
            "pins": {s["id"]: pins[s["display_name"]] for s in students},
        }
    return ids


__all__ = ["CONSOLE", "oneroster_files", "two_classes", "write_folder", "zipped"]
