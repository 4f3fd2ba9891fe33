"""The config's users as every chat looks them up, as they are now (the config can change while serving)."""

from __future__ import annotations

from collections.abc import Callable, Iterable, Iterator, Mapping

from store.domain.users import User

Users = Iterable[User] | Callable[[], Iterable[User]]


class Directory:
    """Lookups over the current config users: by a chat id field, the ids, the names."""

    def __init__(self, source: Users = ()) -> None:
        if callable(source):
            self._source: Callable[[], Iterable[User]] = source
        else:
            fixed = tuple(source)
            self._source = lambda: fixed
        self._seen: object = None
        self._indexes: dict[str, dict[str, str]] = {}

    def users(self) -> tuple[User, ...]:
        """The users now."""
        users = self._source()
        if users is not self._seen:
            self._seen, self._indexes = users, {}
        return tuple(users)

    def by(self, field: str) -> dict[str, str]:
        """Config user ids by one of their chat ids (`slack_id`, `discord_id`, …), as text."""
        users = self.users()
        if field not in self._indexes:
            index = {str(getattr(u, field)): u.id for u in users if getattr(u, field) is not None}
            self._indexes[field] = index
        return self._indexes[field]

    def lowered_ids(self) -> set[str]:
        """The config user ids in lower case, so that nobody outside the config passes for one."""
        return {u.id.lower() for u in self.users()}

    def outsider(self, name: str, chat_user_id: object) -> str:
        """How someone outside the config is recorded: their chat name, with their chat id if it reads as a
        config user's id."""
        return f"{name} ({chat_user_id})" if name.lower() in self.lowered_ids() else name


class LiveNames(Mapping[str, str]):
    """Config user ids to names, read from the directory at each look-up (for messages and mails)."""

    def __init__(self, directory: Directory) -> None:
        self.directory = directory

    def __getitem__(self, key: str) -> str:
        for user in self.directory.users():
            if user.id == key:
                return user.name
        raise KeyError(key)

    def __iter__(self) -> Iterator[str]:
        return iter([u.id for u in self.directory.users()])

    def __len__(self) -> int:
        return len(self.directory.users())


def names_of(directory: Directory) -> Mapping[str, str]:
    """The live names mapping of a directory."""
    return LiveNames(directory)
