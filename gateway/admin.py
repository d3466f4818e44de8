from django.contrib import admin

from gateway.models import InboxMessage, Message, ModerationAction, OutboxMessage, Profile, Room, Sanction


@admin.register(Room)
class RoomAdmin(admin.ModelAdmin):
    list_display = ["name", "title", "created_at"]


@admin.register(Profile)
class ProfileAdmin(admin.ModelAdmin):
    list_display = ["user", "callsign", "callsign_verified"]
    list_filter = ["callsign_verified"]
    search_fields = ["user__username", "callsign"]


@admin.register(Message)
class MessageAdmin(admin.ModelAdmin):
    list_display = ["created_at", "room", "name", "text", "announcement", "deleted_at"]
    list_filter = ["room", "announcement", "guest"]
    search_fields = ["name", "text"]


@admin.register(Sanction)
class SanctionAdmin(admin.ModelAdmin):
    list_display = ["kind", "user", "guest_nick", "address", "until", "lifted_at", "created_by", "created_at"]
    list_filter = ["kind"]


@admin.register(ModerationAction)
class ModerationActionAdmin(admin.ModelAdmin):
    """The moderation log: read-only, so it stays a true record."""

    list_display = ["created_at", "actor", "action", "target", "room"]
    list_filter = ["action"]

    def has_add_permission(self, request):
        return False

    def has_change_permission(self, request, obj=None):
        return False

    def has_delete_permission(self, request, obj=None):
        return False


@admin.register(OutboxMessage)
class OutboxMessageAdmin(admin.ModelAdmin):
    list_display = ["created_at", "user", "source", "destination", "text", "msgno", "state", "tries"]
    list_filter = ["state"]


@admin.register(InboxMessage)
class InboxMessageAdmin(admin.ModelAdmin):
    list_display = ["received_at", "user", "source", "destination", "text", "msgno", "read_at"]
    search_fields = ["source", "destination", "text"]
