package sim

import (
	"strconv"
	"time"
)

// soapObjects builds every object of one type in the tenant at now.
func (s *Sim) soapObjects(t *tenant, typ string, now time.Time) []soapObj {
	var out []soapObj
	switch typ {
	case "Automation":
		for _, a := range t.Automations {
			out = append(out, s.soapAutomation(t, a, now))
		}
	case "AutomationInstance":
		for _, a := range t.Automations {
			for _, r := range s.runs(t, a, now, 5) {
				out = append(out, soapAutomationInstance(a, r))
			}
		}
	case "AutomationActivityInstance":
		for _, a := range t.Automations {
			for _, r := range s.runs(t, a, now, 3) {
				out = append(out, soapActivityInstances(a, r, now)...)
			}
		}
	case "TriggeredSendDefinition":
		for _, ts := range t.TSDs {
			out = append(out, s.soapTSD(t, ts, now))
		}
	case "TriggeredSendSummary":
		for _, ts := range t.TSDs {
			out = append(out, s.soapTSS(t, ts, now))
		}
	case "DataExtension":
		for _, de := range t.DEs {
			out = append(out, s.soapDE(t, de, now))
		}
	case "DataExtensionField":
		for _, de := range t.DEs {
			fs, _ := s.deFields(t, de, now)
			for i, f := range fs {
				out = append(out, soapDEField(de, f, i))
			}
		}
	case "Send":
		for _, j := range s.sendJobs(t, now.Add(-sendLookback), now) {
			out = append(out, soapSendJob(j))
		}
	case "ImportDefinition":
		for _, im := range t.Imports {
			out = append(out, soapImportDef(im))
		}
	case "ImportResultsSummary":
		for _, im := range t.Imports {
			for _, r := range s.importRuns(t, im, now, 5) {
				out = append(out, soapImportSummary(im, r))
			}
		}
	}
	return out
}

// instanceStatus maps a run's outcome to the SOAP AutomationInstance status
// integer. A finished run is reported as 2 ("Ready": the program is ready to
// run again) [unverified against a live tenant].
func instanceStatus(status string) int64 {
	switch status {
	case "Running":
		return 3
	case "Error":
		return -1
	default:
		return 2
	}
}

func (s *Sim) soapAutomation(t *tenant, a *automation, now time.Time) soapObj {
	v := s.autoState(t, a, now)
	var acts []xnode
	for _, act := range a.Activities {
		acts = append(acts, elKids("Activity", elNil("PartnerKey"), el("ObjectID", act.ObjectID), el("Name", act.Name),
			elBool("IsActive", true), elKids("Definition", elNil("PartnerKey"), elNil("ObjectID"), el("CustomerKey", act.ObjectID)),
			elInt("Sequence", int64(act.Order-1))))
	}
	var tasks []xnode
	for i := 1; i <= a.Steps; i++ {
		var stepActs []xnode
		for j, act := range a.Activities {
			if act.Step == i {
				stepActs = append(stepActs, acts[j])
			}
		}
		tasks = append(tasks, elKids("AutomationTask", elNil("PartnerKey"), elNil("ObjectID"),
			el("AutomationTaskType", strconv.Itoa(a.Activities[0].ObjectTypeID)), elKids("Activities", stepActs...)))
	}
	f := []xnode{
		elNil("PartnerKey"),
		elKids("PartnerProperties", el("Name", "AutomationType"), el("Value", a.Type)),
		elTime("CreatedDate", a.Created), elTime("ModifiedDate", a.Modified),
		el("ObjectID", a.ID), el("CustomerKey", a.Key), el("ObjectState", ""),
		el("Name", a.Name), el("Description", a.Description), el("Keyword", ""),
		elKids("AutomationTasks", tasks...),
		elBool("IsActive", v.isActive), elInt("Status", int64(v.statusID)),
	}
	if a.Sched != nil && v.scheduleStatus != "none" {
		f = append(f, elTime("ScheduledTime", v.next))
	}
	f = append(f, el("AutomationType", a.Type))
	if v.last != nil {
		f = append(f, el("LastRunInstanceID", v.last.instanceID), elTime("LastRunTime", v.last.start))
	}
	return soapObj{typ: "Automation", fields: f, extra: map[string]string{"ProgramID": a.ID}}
}

func soapAutomationInstance(a *automation, r run) soapObj {
	msg := r.message
	switch r.status {
	case "Complete":
		msg = "Complete"
	case "Running":
		msg = "Running"
	}
	last := r.start
	if !r.end.IsZero() {
		last = r.end
	}
	f := []xnode{
		elNil("PartnerKey"), el("ObjectID", r.instanceID), el("CustomerKey", a.Key), el("Name", a.Name),
		el("Description", a.Description), elBool("IsActive", true), elInt("Status", instanceStatus(r.status)),
		elTime("ScheduledTime", r.scheduled), el("AutomationType", a.Type),
		el("AutomationID", a.ID), el("StatusMessage", msg), elTime("StatusLastUpdate", last), elTime("StartTime", r.start),
	}
	if !r.end.IsZero() {
		f = append(f, elTime("CompletedTime", r.end))
	}
	return soapObj{typ: "AutomationInstance", fields: f, extra: map[string]string{
		"ProgramID": a.ID, "ProgramInstanceID": r.instanceID, "AutomationCustomerKey": a.Key,
	}}
}

func soapActivityInstances(a *automation, r run, now time.Time) []soapObj {
	var out []soapObj
	failStep := -1
	if r.status == "Error" && r.failedAct >= 0 && r.failedAct < len(a.Activities) {
		failStep = a.Activities[r.failedAct].Step
	}
	steps := max(a.Steps, 1)
	stepLen := time.Duration(1)
	if !r.end.IsZero() {
		stepLen = r.end.Sub(r.start) / time.Duration(steps)
	} else {
		stepLen = max(now.Sub(r.start)/time.Duration(steps), time.Second)
	}
	for i, act := range a.Activities {
		status, msg := "Complete", "Complete"
		st := r.start.Add(stepLen * time.Duration(act.Step-1))
		end := st.Add(stepLen)
		switch {
		case r.status == "Running":
			if act.Step > 1 && now.Before(st) {
				continue
			}
			if !now.Before(end) && act.Step < steps {
				break
			}
			status, msg, end = "Running", "Running", time.Time{}
		case failStep >= 0 && act.Step > failStep:
			continue
		case i == r.failedAct:
			status, msg = "Error", r.message
		case i == r.slowAct:
			st, end = r.start, r.start.Add(r.slowDur)
		}
		upd := st
		if end.After(st) {
			upd = end
		}
		f := []xnode{
			elNil("PartnerKey"), el("ObjectID", hashGUID(hashString(r.instanceID), uint64(i))), el("Name", act.Name),
			el("ActivityID", act.ObjectID), el("AutomationID", a.ID), elInt("SequenceID", int64(act.Step-1)),
			elInt("Status", instanceStatus(status)), elTime("StatusLastUpdate", upd), el("StatusMessage", msg),
			elTime("ScheduledTime", r.scheduled), elTime("StartTime", st),
			// WSDL: the run is the nested AutomationInstance object.
			elKids("AutomationInstance", elNil("PartnerKey"), el("ObjectID", r.instanceID)),
		}
		if !end.IsZero() {
			f = append(f, elTime("CompletedTime", end))
		}
		out = append(out, soapObj{typ: "AutomationActivityInstance", fields: f, extra: map[string]string{
			"AutomationInstanceID": r.instanceID, "ProgramInstanceID": r.instanceID, "ActivityType": strconv.Itoa(act.ObjectTypeID),
		}})
	}
	return out
}

func (s *Sim) soapTSD(t *tenant, ts *triggeredSend, now time.Time) soapObj {
	c := s.tsState(t, ts, now)
	mod := ts.Modified
	if c.Status != ts.BaseStatus {
		for _, w := range s.faults.windows(FaultTriggeredSendInactive, t.MID, ts.Key, ts.Name, ts.ObjectID) {
			if w.contains(now) {
				mod = w.start
			}
		}
	}
	return soapObj{typ: "TriggeredSendDefinition", fields: []xnode{
		elNil("PartnerKey"),
		elKids("PartnerProperties", el("Name", "TestEmailAddr"), el("Value", "")),
		elTime("CreatedDate", ts.Created), elTime("ModifiedDate", mod),
		el("ObjectID", ts.ObjectID), el("CustomerKey", ts.Key), elBool("IsPlatformObject", false),
		el("Name", ts.Name), el("Description", ts.Description), el("Keyword", ""), elInt("CategoryID", int64(ts.CategoryID)),
		elKids("SendClassification", elNil("PartnerKey"), el("ObjectID", ts.ClassID), el("CustomerKey", ts.ClassKey)),
		elKids("SenderProfile", elNil("PartnerKey"), el("ObjectID", ts.ProfileID), el("CustomerKey", ts.ProfileKey)),
		el("FromName", ts.FromName), el("FromAddress", ts.FromAddress), elBool("SuppressTracking", false),
		el("TriggeredSendType", ts.TriggerType), el("TriggeredSendStatus", c.Status),
		elKids("Email", elNil("PartnerKey"), elInt("ID", int64(ts.EmailID)), elNil("ObjectID")),
		elBool("AutoAddSubscribers", true), elBool("AutoUpdateSubscribers", true), elInt("BatchInterval", 0),
		el("EmailSubject", ts.Subject), el("DynamicEmailSubject", ts.Subject), elBool("IsMultipart", true),
		elBool("IsWrapped", true), elInt("AllowedSlots", 0), elInt("NewSlotTrigger", 0), elInt("Priority", int64(ts.PriorityCode)),
	}}
}

func (s *Sim) soapTSS(t *tenant, ts *triggeredSend, now time.Time) soapObj {
	c := s.tsState(t, ts, now)
	return soapObj{typ: "TriggeredSendSummary", fields: []xnode{
		elNil("PartnerKey"), el("ObjectID", ts.ObjectID), el("CustomerKey", ts.Key),
		elInt("Sent", c.Sent), elInt("NotSentDueToOptOut", c.NotSentOptOut), elInt("NotSentDueToUndeliverable", c.NotSentUndeliverable),
		elInt("Bounces", c.Bounces), elInt("Opens", c.Opens), elInt("Clicks", c.Clicks), elInt("UniqueOpens", c.UniqueOpens),
		elInt("UniqueClicks", c.UniqueClicks), elInt("OptOuts", c.OptOuts), elInt("SurveyResponses", 0), elInt("FTAFRequests", 0),
		elInt("FTAFEmailsSent", 0), elInt("FTAFOptIns", 0), elInt("Conversions", 0), elInt("UniqueConversions", 0),
		elInt("InProcess", 0), elInt("NotSentDueToError", c.NotSentErr), elInt("Queued", c.Queued),
	}}
}

func (s *Sim) soapDE(t *tenant, de *dataExtension, now time.Time) soapObj {
	_, mod := s.deFields(t, de, now)
	f := []xnode{
		elNil("PartnerKey"), elTime("CreatedDate", de.Created), elTime("ModifiedDate", mod),
		el("ObjectID", de.ObjectID), el("CustomerKey", de.Key), el("Name", de.Name), el("Description", de.Description),
		elBool("IsSendable", de.Sendable), elBool("IsTestable", de.Sendable),
	}
	if de.Sendable {
		f = append(f,
			elKids("SendableDataExtensionField", elNil("PartnerKey"), elNil("ObjectID"), el("Name", "SubscriberKey")),
			elKids("SendableSubscriberField", el("Name", "_SubscriberKey")))
	}
	f = append(f, soapRetention(s.deRetention(t, de, now))...)
	f = append(f, elInt("CategoryID", int64(de.CategoryID)))
	return soapObj{typ: "DataExtension", fields: f}
}

func soapDEField(de *dataExtension, fd deField, ordinal int) soapObj {
	return soapObj{typ: "DataExtensionField", fields: []xnode{
		elNil("PartnerKey"), el("ObjectID", fd.ObjectID), el("CustomerKey", "["+de.Key+"].["+fd.Name+"]"), el("Name", fd.Name),
		elInt("Scale", int64(fd.Scale)), el("DefaultValue", fd.Default), maxLen(fd), elBool("IsRequired", fd.Required),
		elInt("Ordinal", int64(ordinal)), elBool("IsPrimaryKey", fd.PK), el("FieldType", fd.Type),
		elKids("DataExtension", elNil("PartnerKey"), elNil("ObjectID"), el("CustomerKey", de.Key)),
	}}
}

func maxLen(fd deField) xnode {
	if fd.MaxLength == 0 {
		return el("MaxLength", "0")
	}
	return elInt("MaxLength", int64(fd.MaxLength))
}

var updateTypes = map[int]string{0: "AddAndUpdate", 1: "AddAndDoNotUpdate", 2: "UpdateButDoNotAdd", 3: "Merge", 4: "Overwrite"}

func soapImportDef(im *importDef) soapObj {
	dest := "00000000-0000-0000-0000-000000000000"
	if im.Target != nil {
		dest = im.Target.ObjectID
	}
	return soapObj{typ: "ImportDefinition", fields: []xnode{
		elNil("PartnerKey"), elTime("CreatedDate", im.Created), elTime("ModifiedDate", im.Modified),
		el("ObjectID", im.ID), el("CustomerKey", im.Key), el("Name", im.Name), el("Description", im.Description),
		elBool("AllowErrors", im.AllowErrors),
		elKids("DestinationObject", elNil("PartnerKey"), el("ObjectID", dest)),
		el("FieldMappingType", im.FieldMappingType), el("FileSpec", im.FileNamePattern), el("FileType", "CSV"),
		el("UpdateType", updateTypes[im.UpdateTypeID]),
	}}
}

func soapImportSummary(im *importDef, r importRun) soapObj {
	dest := ""
	if im.Target != nil {
		dest = im.Target.ObjectID
	}
	end := ""
	if !r.end.IsZero() {
		end = fmtUS(r.end)
	}
	return soapObj{typ: "ImportResultsSummary", fields: []xnode{
		elNil("PartnerKey"), elNil("ObjectID"),
		el("ImportDefinitionCustomerKey", im.Key), el("StartDate", fmtUS(r.start)), el("EndDate", end),
		el("DestinationID", dest), elInt("NumberSuccessful", r.ok), elInt("NumberDuplicated", r.dup),
		elInt("NumberErrors", r.errs), elInt("TotalRows", r.total), el("ImportType", updateTypes[im.UpdateTypeID]),
		el("ImportStatus", r.status), elInt("TaskResultID", r.taskResultID),
	}}
}
