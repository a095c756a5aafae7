#include "analyses/events/kvm_events.h"

#include "analyses/events/kernel_events.h"

namespace vmtrace::events {

std::string_view KvmSuffix(std::string_view n) {
  if (n.substr(0, 8) == "kvm_x86_") return n.substr(8);
  if (n.substr(0, 4) == "kvm_") return n.substr(4);
  return {};
}

bool ResolveKvmClass(const ctf::EventClass& cls, ClassLayout* l) {
  const std::string_view n = cls.name();
  const std::string_view kvm = KvmSuffix(n);
  if (kvm == "entry") {
    l->kind = Kind::kKvmEntry;
    l->a = PayloadIndex(cls, "vcpu_id");
  } else if (kvm == "exit") {
    l->kind = Kind::kKvmExit;
    l->a = PayloadIndex(cls, "exit_reason");
    l->b = PayloadIndex(cls, "vcpu_id");
  } else if (kvm == "inj_virq") {
    l->kind = Kind::kKvmInjVirq;
    l->a = AnyPayload(cls, {"irq", "vector"});
  } else if (kvm == "apic_accept_irq") {
    l->kind = Kind::kKvmAcceptIrq;
    l->a = AnyPayload(cls, {"vec", "vector"});
    l->b = PayloadIndex(cls, "apicid");
  } else if (n == "addons_vcpu_enter_guest") {
    l->kind = Kind::kEnterGuest;
    l->a = PayloadIndex(cls, "vcpuID");
    l->b = PayloadIndex(cls, "cr3tmp");
    l->c = PayloadIndex(cls, "sptmp");
  } else {
    return false;
  }
  return true;
}

void DecodeKvmEvent(const ctf::Event& ev, const ClassLayout& l,
                    TypedEvent* out) {
  switch (l.kind) {
    case Kind::kKvmEntry:
      out->kvm_entry.vcpu_id = IntField(ev, l.a);
      break;
    case Kind::kKvmExit:
      out->kvm_exit.exit_reason = IntField(ev, l.a);
      out->kvm_exit.vcpu_id = IntField(ev, l.b);
      break;
    case Kind::kKvmInjVirq:
    case Kind::kKvmAcceptIrq:
      out->kvm_irq.vector = IntField(ev, l.a);
      out->kvm_irq.apicid = IntField(ev, l.b);
      break;
    case Kind::kEnterGuest: {
      EnterGuest& g = out->enter_guest;
      g.vcpu_id = IntField(ev, l.a);
      g.cr3 = IntField(ev, l.b);
      const int64_t sp = IntField(ev, l.c);
      g.has_sp = Has(sp);
      g.sp = static_cast<uint64_t>(sp);
      break;
    }
    default:
      break;
  }
}

}  // namespace vmtrace::events
