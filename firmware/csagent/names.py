"""Component names of the device model that more than one module uses
(Part 2, 3: the standardized components), defined once."""
COMM = "OCPPCommCtrlr"
SEC = "SecurityCtrlr"
DDC = "DeviceDataCtrlr"
CLOCK = "ClockCtrlr"
STATION = "ChargingStation"
