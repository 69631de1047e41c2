"""Every OCPP 2.0.1 action name: known ones we do not handle get NotSupported,
unknown ones NotImplemented (OCPP-J 2.0.1, 4.3). One string, not a set: a
set of 64 names costs the board about 4 KB more heap."""
_NAMES = (
    " "
    "Authorize BootNotification CancelReservation CertificateSigned "
    "ChangeAvailability ClearCache ClearChargingProfile "
    "ClearDisplayMessage ClearVariableMonitoring ClearedChargingLimit "
    "CostUpdated CustomerInformation DataTransfer DeleteCertificate "
    "FirmwareStatusNotification Get15118EVCertificate GetBaseReport "
    "GetCertificateStatus GetChargingProfiles GetCompositeSchedule "
    "GetDisplayMessages GetInstalledCertificateIds GetLocalListVersion "
    "GetLog GetMonitoringReport GetReport GetTransactionStatus "
    "GetVariables Heartbeat InstallCertificate LogStatusNotification "
    "MeterValues NotifyChargingLimit NotifyCustomerInformation "
    "NotifyDisplayMessages NotifyEVChargingNeeds NotifyEVChargingSchedule "
    "NotifyEvent NotifyMonitoringReport NotifyReport PublishFirmware "
    "PublishFirmwareStatusNotification ReportChargingProfiles "
    "RequestStartTransaction RequestStopTransaction "
    "ReservationStatusUpdate ReserveNow Reset SecurityEventNotification "
    "SendLocalList SetChargingProfile SetDisplayMessage SetMonitoringBase "
    "SetMonitoringLevel SetNetworkProfile SetVariableMonitoring "
    "SetVariables SignCertificate StatusNotification TransactionEvent "
    "TriggerMessage UnlockConnector UnpublishFirmware UpdateFirmware "
)


def known(action):
    return " " not in action and (" " + action + " ") in _NAMES
